import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  InvalidArgumentError,
  SlidingWindowConfidence,
  groupConfidences,
  lowestGroupConfidence,
  traceConfidence,
} from '@deepconf-safety/confidence';

/** The official definition, written the slow way: every window recomputed from scratch. */
function naiveGroups(confs: readonly number[], window: number): number[] {
  if (confs.length === 0) return [0];
  if (confs.length < window) return [confs.reduce((a, b) => a + b, 0) / confs.length];
  const out: number[] = [];
  for (let i = 0; i + window <= confs.length; i++) {
    let sum = 0;
    for (let j = i; j < i + window; j++) sum += confs[j] as number;
    out.push(sum / window);
  }
  return out;
}

/** Python's min(): NaN wins only when it is first. */
function pythonMin(values: readonly number[]): number {
  let min = values[0] as number;
  for (const v of values) if (v < min) min = v;
  return min;
}

const sameNumber = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

// Token confidences as they occur: mostly 0..20, sometimes a ~500 spike from vLLM's -9999 clamp.
const tokenConf = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: 0, max: 20, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: 400, max: 520, noNaN: true }) },
);
const withNonFinite = fc.oneof(
  { weight: 30, arbitrary: tokenConf },
  { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, NaN) },
);

describe('groupConfidences', () => {
  test('full windows only: n - W + 1 groups', () => {
    expect(groupConfidences([1, 2, 3, 4, 5], 2)).toEqual([1.5, 2.5, 3.5, 4.5]);
    expect(groupConfidences([1, 2, 3, 4], 4)).toEqual([2.5]);
    expect(groupConfidences([1, 2, 3, 4, 6], 4)).toEqual([2.5, 3.75]);
  });

  test('a trace shorter than the window gives one group, its whole mean; an empty trace gives [0]', () => {
    expect(groupConfidences([1, 2, 6], 2048)).toEqual([3]);
    expect(groupConfidences([], 4)).toEqual([0]);
    expect(groupConfidences(new Float64Array([2, 4]), 3)).toEqual([3]);
  });

  test('a window holding +inf is +inf; later windows are finite again (per-window sum)', () => {
    expect(groupConfidences([1, Infinity, 3, 5], 2)).toEqual([Infinity, Infinity, 4]);
    const withNaN = groupConfidences([NaN, 1, 3], 2);
    expect(withNaN[0]).toBeNaN();
    expect(withNaN[1]).toBe(2);
    expect(groupConfidences([Infinity, -Infinity, 1], 2)[0]).toBeNaN();
  });

  test('rejects a bad window with an error naming it', () => {
    for (const bad of [0, -3, 2.5, NaN, Infinity]) {
      expect(() => groupConfidences([1, 2], bad)).toThrow(InvalidArgumentError);
      expect(() => groupConfidences([1, 2], bad)).toThrow(/^window: must be a positive integer/);
    }
  });

  test('equals the from-scratch definition within 1e-9 (property)', () => {
    fc.assert(
      fc.property(fc.array(tokenConf, { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (confs, window) => {
        const got = groupConfidences(confs, window);
        const want = naiveGroups(confs, window);
        expect(got).toHaveLength(want.length);
        got.forEach((g, i) =>
          expect(Math.abs(g - (want[i] as number))).toBeLessThanOrEqual(
            1e-9 * Math.max(1, Math.abs(want[i] as number)),
          ),
        );
      }),
    );
  });
});

describe('SlidingWindowConfidence', () => {
  test('state before, at and after the window fills', () => {
    const s = new SlidingWindowConfidence(3);
    expect([s.count, s.full, s.mean, s.lowest]).toEqual([0, false, 0, 0]);
    s.push(4);
    s.push(2);
    expect([s.count, s.full, s.mean, s.lowest]).toEqual([2, false, 3, 3]);
    s.push(6);
    expect([s.count, s.full, s.mean, s.lowest]).toEqual([3, true, 4, 4]);
    s.push(1);
    expect([s.mean, s.lowest]).toEqual([3, 3]);
    s.push(8);
    expect([s.mean, s.lowest]).toEqual([5, 3]);
  });

  test('below(threshold) is the official stop rule: full window and mean strictly below', () => {
    const s = new SlidingWindowConfidence(2);
    s.push(1);
    expect(s.below(100)).toBe(false); // window not full: never stops
    s.push(3);
    expect(s.below(2)).toBe(false);
    expect(s.below(2.0001)).toBe(true);
  });

  test('reset starts a new trace', () => {
    const s = new SlidingWindowConfidence(2);
    for (const c of [5, 1, 1, Infinity]) s.push(c);
    s.reset();
    for (const c of [2, 4]) s.push(c);
    expect([s.count, s.mean, s.lowest]).toEqual([2, 3, 3]);
  });

  test('lowest follows Python min: a NaN first group sticks, a later one is skipped', () => {
    const first = new SlidingWindowConfidence(2);
    for (const c of [NaN, 1, 1, 1]) first.push(c);
    expect(first.lowest).toBeNaN();
    const later = new SlidingWindowConfidence(2);
    for (const c of [3, 3, NaN, 1, 1]) later.push(c);
    expect(later.lowest).toBe(1);
  });

  test('rejects a bad window', () => {
    expect(() => new SlidingWindowConfidence(0)).toThrow(InvalidArgumentError);
  });

  test('streaming equals the batch functions exactly at every step (property)', () => {
    fc.assert(
      fc.property(fc.array(withNonFinite, { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (confs, window) => {
        const s = new SlidingWindowConfidence(window);
        const groups = groupConfidences(confs, window);
        confs.forEach((c, i) => {
          s.push(c);
          expect(s.count).toBe(i + 1);
          expect(s.full).toBe(i + 1 >= window);
          if (i + 1 >= window) expect(sameNumber(s.mean, groups[i + 1 - window] as number)).toBe(true);
          const prefix = confs.slice(0, i + 1);
          expect(sameNumber(s.lowest, pythonMin(groupConfidences(prefix, window)))).toBe(true);
        });
        expect(sameNumber(s.lowest, lowestGroupConfidence(confs, window))).toBe(true);
        expect(sameNumber(s.lowest, traceConfidence(confs, { window }).lowestGroup)).toBe(true);
      }),
    );
  });

  test('no drift over 100k tokens with +500 spikes: within 2e-14 of each window re-summed', () => {
    // A plain running sum is off by ~1e-13 here; the compensated one stays at the ulp level.
    const W = 2048;
    const n = 100_000;
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    // Division by 3 makes the values non-dyadic so sums really round.
    const confs = Float64Array.from({ length: n }, (_, i) => (i % 997 === 0 ? 500 + rand() / 3 : (rand() * 20) / 3));
    const s = new SlidingWindowConfidence(W);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      s.push(confs[i] as number);
      if ((i + 1) % 4999 === 0) {
        let sum = 0;
        let c = 0; // Kahan-summed reference for this one window
        for (let j = i + 1 - W; j <= i; j++) {
          const y = (confs[j] as number) - c;
          const t = sum + y;
          c = t - sum - y;
          sum = t;
        }
        worst = Math.max(worst, Math.abs(s.mean - sum / W));
      }
    }
    expect(worst).toBeLessThan(2e-14);
  });
});
