import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  EmptyInputError,
  InvalidArgumentError,
  InvalidValueError,
  calibrateThreshold,
  filterTopConfidence,
  numpyPercentile,
} from '@deepconf-safety/confidence';
import { officialExtra } from './fixtures.js';

const warmups = fc.array(fc.double({ min: 0, max: 30, noNaN: true }), { minLength: 1, maxLength: 64 });
const percent = fc.double({ min: 0, max: 100, noNaN: true });

describe('calibrateThreshold', () => {
  test('keepPercent is the share kept: 10 = 90th percentile (low), 90 = 10th (high)', () => {
    const values = [5, 1, 4, 2, 3]; // sorted 1..5, numpy linear: position q/100 * 4
    expect(calibrateThreshold(values, 10)).toBeCloseTo(4.6, 12);
    expect(calibrateThreshold(values, 90)).toBeCloseTo(1.4, 12);
    expect(calibrateThreshold(values, 0)).toBe(5);
    expect(calibrateThreshold(values, 100)).toBe(1);
    expect(calibrateThreshold([7], 10)).toBe(7);
  });

  test('matches np.percentile(values, 100 - keep) bit for bit on the official-code cases', () => {
    for (const row of officialExtra.percentile_cases) {
      row.keep_percent.forEach((keep, i) => {
        expect(calibrateThreshold(row.values, keep)).toBe(row.threshold[i]);
        expect(numpyPercentile(row.values, 100 - keep)).toBe(row.threshold[i]);
      });
    }
  });

  test('bad input: empty warmup, NaN value, keepPercent outside 0..100', () => {
    expect(() => calibrateThreshold([], 10)).toThrow(EmptyInputError);
    expect(() => calibrateThreshold([], 10)).toThrow(/warmupLowestGroups is empty/);
    expect(() => calibrateThreshold([1, NaN], 10)).toThrow(InvalidValueError);
    expect(() => calibrateThreshold([1, NaN], 10)).toThrow(/warmupLowestGroups\[1\]/);
    for (const bad of [-1, 101, NaN]) expect(() => calibrateThreshold([1, 2], bad)).toThrow(InvalidArgumentError);
  });

  test('infinite values do not turn the threshold into NaN (numpy would)', () => {
    expect(calibrateThreshold([1, 2, Infinity], 50)).toBe(2);
    expect(calibrateThreshold([1, Infinity], 0)).toBe(Infinity);
  });

  test('threshold lies within the values and does not increase with keepPercent (property)', () => {
    fc.assert(
      fc.property(warmups, percent, percent, (values, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const tLo = calibrateThreshold(values, lo);
        const tHi = calibrateThreshold(values, hi);
        // numpy's lerp switches formula at t = 0.5, which can cost one ulp.
        expect(tHi).toBeLessThanOrEqual(tLo + 1e-12 * Math.max(1, Math.abs(tLo)));
        expect(tLo).toBeLessThanOrEqual(Math.max(...values));
        expect(tHi).toBeGreaterThanOrEqual(Math.min(...values));
      }),
    );
  });
});

describe('filterTopConfidence', () => {
  test('keeps indices at or above the (100 - keep)th percentile, ties included', () => {
    expect(filterTopConfidence([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10)).toEqual([9]);
    expect(filterTopConfidence([3, 9, 9, 1], 10)).toEqual([1, 2]);
    expect(filterTopConfidence([3, 1, 2], 100)).toEqual([0, 1, 2]);
    expect(filterTopConfidence([], 10)).toEqual([]);
  });

  test('matches the official filter_top_confidence on its cases', () => {
    for (const row of officialExtra.percentile_cases) {
      row.keep_percent.forEach((keep, i) => expect(filterTopConfidence(row.values, keep)).toEqual(row.filter_kept[i]));
    }
  });

  test('rejects NaN confidences and bad percentages', () => {
    expect(() => filterTopConfidence([1, NaN], 10)).toThrow(/confs\[1\]/);
    expect(() => filterTopConfidence([1], 150)).toThrow(/keepPercent/);
  });

  test('keeping more never drops a trace, and something is always kept (property)', () => {
    fc.assert(
      fc.property(warmups, percent, percent, (values, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const small = filterTopConfidence(values, lo);
        const large = new Set(filterTopConfidence(values, hi));
        expect(small.length).toBeGreaterThan(0);
        for (const i of small) expect(large.has(i)).toBe(true);
      }),
    );
  });
});
