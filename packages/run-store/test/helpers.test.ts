import { describe, expect, test } from '@jest/globals';
import { assignBucket, configHash, decodeConfidences, encodeConfidences, percentile } from '@deepconf-safety/run-store';

describe('helpers', () => {
  test('confidences survive encoding exactly', () => {
    const values = [0, 1 / 3, 500.0001, Number.MAX_VALUE, -1e-300, Infinity];
    expect([...decodeConfidences(encodeConfidences(values))]).toEqual(values);
  });
  test('config hash ignores key order and sees value changes', () => {
    expect(configHash({ a: 1, b: { c: 2, d: 3 } })).toBe(configHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
  });
  test('buckets split at the confidence and percentile interpolates like numpy', () => {
    expect(assignBucket('refuse', 5, 5)).toBe('confident_refusal');
    expect(assignBucket('comply', 4.9, 5)).toBe('uncertain_compliance');
    expect(assignBucket(null, 4.9, 5)).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBeCloseTo(2.5);
    expect(percentile([10, 1, 5], 90)).toBeCloseTo(9);
    expect(percentile([], 50)).toBeNull();
  });
});
