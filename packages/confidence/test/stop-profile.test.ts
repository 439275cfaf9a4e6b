import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { findStopIndex, lowestGroupConfidence } from '@deepconf-safety/confidence';
import { ProfileStore, profilePrefixLowest, profileStopIndex, stopProfile } from '../src/stop-profile.js';

// Confidences as a server can send them: mostly ordinary values, with the rare non-finite one and repeats (ties).
const confidence = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: 0, max: 20, noNaN: true }) },
  { weight: 4, arbitrary: fc.constantFrom(1, 2, 3) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -500) },
);

describe('stop profile (one pass per trace and window, any number of thresholds)', () => {
  test('the stop of every threshold, and the lowest group, equal the online rule on random traces', () => {
    fc.assert(
      fc.property(
        fc.array(confidence, { maxLength: 80 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.oneof(fc.double({ min: -1, max: 21, noNaN: false }), fc.constant(null)), { maxLength: 8 }),
        (confs, w, thresholds) => {
          const profile = stopProfile(confs, w);
          expect(Object.is(profile.lowest, lowestGroupConfidence(confs, w))).toBe(true);
          for (const t of thresholds) {
            const stop = profileStopIndex(profile, t);
            expect(stop).toBe(findStopIndex(confs, w, t));
            if (stop !== null) {
              // The fallback weighs a stopped trace by the lowest group of what it produced.
              const prefix = lowestGroupConfidence(confs.slice(0, stop + 1), w);
              expect(Object.is(profilePrefixLowest(profile, stop), prefix)).toBe(true);
            }
          }
        },
      ),
      { seed: 15, numRuns: 2000 },
    );
  });

  test('record lows: each below every earlier full-window mean', () => {
    // Window 2 means: 4, 3, 3.5, 2, 5: new lows at tokens 1, 2 and 4.
    const p = stopProfile([5, 3, 3, 4, 0, 10], 2);
    expect(p.recordAt).toEqual([1, 2, 4]);
    expect(p.recordMean).toEqual([4, 3, 2]);
    expect(profileStopIndex(p, 3.5)).toBe(2);
    expect(profileStopIndex(p, 2)).toBeNull();
    expect(() => profilePrefixLowest(p, 3)).toThrow(RangeError);
  });

  test('a packed profile (ProfileStore) answers every threshold and prefix as the plain one, across shared blocks', () => {
    // Blocks of 16 values: most traces' records start a new block or straddle where one would end.
    const store = new ProfileStore(16);
    const earlier: Array<{ packed: ReturnType<ProfileStore['profile']>; recordAt: number[] }> = [];
    fc.assert(
      fc.property(
        // Long traces too, so the packed records of many traces fill more than one shared block.
        fc.array(confidence, { maxLength: 3000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.oneof(fc.double({ min: -1, max: 21, noNaN: false }), fc.constant(null)), { maxLength: 8 }),
        (confs, w, thresholds) => {
          const plain = stopProfile(confs, w);
          const packed = store.profile(Float64Array.from(confs), w);
          earlier.push({ packed, recordAt: [...plain.recordAt] });
          expect(packed.length).toBe(confs.length);
          expect(packed.window).toBe(w);
          expect(packed.profile.recordAt).toEqual(plain.recordAt);
          expect(packed.profile.recordMean).toEqual(plain.recordMean);
          expect(Object.is(packed.profile.lowest, plain.lowest)).toBe(true);
          expect(packed.profile.firstFullNaN).toBe(plain.firstFullNaN);
          for (const t of thresholds) {
            const stop = profileStopIndex(packed.profile, t);
            expect(stop).toBe(profileStopIndex(plain, t));
            if (stop !== null)
              expect(Object.is(profilePrefixLowest(packed.profile, stop), profilePrefixLowest(plain, stop))).toBe(true);
          }
        },
      ),
      { seed: 15, numRuns: 500 },
    );
    // Profiles packed earlier are not overwritten by later ones.
    for (const e of earlier) expect(e.packed.profile.recordAt).toEqual(e.recordAt);
  });
});
