import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { findStopIndex, lowestGroupConfidence } from '@deepconf-safety/confidence';
import { profilePrefixLowest, profileStopIndex, stopProfile } from '../src/stop-profile.js';

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
});
