import { describe, expect, test } from '@jest/globals';
import {
  bottomWindowConfidence,
  calibrateThreshold,
  groupConfidences,
  minWindowConfidence,
  roundHalfEven3,
  tailConfidence,
  tokenConfidences,
  traceConfidence,
} from '@deepconf-safety/confidence';
import { closeTo, mismatches, officialExtra, referenceDev } from './fixtures.js';

// Bound documented in the README: token rounding (≤ 5e-4, averaged) plus group rounding (≤ 5e-4).
const OFFICIAL_TOLERANCE = 1e-3;

describe('shared/fixtures/deepconf/reference-dev.json', () => {
  describe.each(referenceDev.trace_cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const { confidences } = tokenConfidences(c.inputs.token_logprobs);

    test('token confidences: rounded like numpy they equal the official values exactly', () => {
      expect(confidences.map(roundHalfEven3)).toEqual(c.outputs.token_confs_full);
      expect(mismatches(confidences, c.outputs.token_confs_full, 5e-4 + 1e-12)).toEqual([]);
    });

    describe.each([
      ['window_case', c.outputs.window_case],
      ['window_default_2048', c.outputs.window_default_2048],
    ] as const)('%s', (_name, expected) => {
      const W = expected.window;

      test('group confidences within 1e-3 (unrounded pipeline) and 5e-4 (from the official token confidences)', () => {
        const ours = groupConfidences(confidences, W);
        const fromOfficial = groupConfidences(c.outputs.token_confs_full, W);
        expect(ours).toHaveLength(expected.group_confs_count);
        expect(fromOfficial).toHaveLength(expected.group_confs_count);
        const pick = (groups: number[]): number[] =>
          expected.group_confs_full ?? [...groups.slice(0, 5), ...groups.slice(-5)];
        const want = expected.group_confs_full ?? [...expected.group_confs_first, ...expected.group_confs_last];
        expect(mismatches(pick(ours), want, OFFICIAL_TOLERANCE)).toEqual([]);
        expect(mismatches(pick(fromOfficial), want, 5e-4 + 1e-12)).toEqual([]);
      });

      test('trace metrics within 1e-3 of the official values', () => {
        const got = traceConfidence(confidences, { window: W });
        expect(closeTo(got.lowestGroup, expected.lowest_group_conf_min_conf, OFFICIAL_TOLERANCE)).toBe(true);
        expect(closeTo(got.bottomPercent, expected.bottom10_window_conf, OFFICIAL_TOLERANCE)).toBe(true);
        expect(closeTo(got.tail, expected.tail_conf_window, OFFICIAL_TOLERANCE)).toBe(true);
        expect(closeTo(got.mean, expected.mean_conf, OFFICIAL_TOLERANCE)).toBe(true);
        expect(closeTo(tailConfidence(confidences, 2048), expected.tail_conf_2048, OFFICIAL_TOLERANCE)).toBe(true);
        expect(
          closeTo(minWindowConfidence(confidences, W), expected.min_window_conf_unrounded, OFFICIAL_TOLERANCE),
        ).toBe(true);
      });

      test('unrounded metrics match to 1e-12 when fed the official token confidences', () => {
        const official = c.outputs.token_confs_full;
        const got = traceConfidence(official, { window: W });
        expect(got.bottomPercent).toBeCloseTo(expected.bottom10_window_conf, 12);
        expect(got.tail).toBeCloseTo(expected.tail_conf_window, 12);
        expect(got.mean).toBeCloseTo(expected.mean_conf, 12);
        expect(minWindowConfidence(official, W)).toBeCloseTo(expected.min_window_conf_unrounded, 12);
        // Official groups are rounded only when the trace has a full window.
        const lowest = official.length >= W ? roundHalfEven3(got.lowestGroup) : got.lowestGroup;
        expect(lowest).toBeCloseTo(expected.lowest_group_conf_min_conf, 12);
      });
    });
  });

  test('threshold case: DeepConf-low (keep 10 %) and DeepConf-high (keep 90 %)', () => {
    const { warmup_min_confs: warmup, main_branch: main } = referenceDev.threshold_case;
    for (const variant of [main.deepconf_low_eta10, main.deepconf_high_eta90]) {
      expect(calibrateThreshold(warmup, variant.confidence_percentile_arg)).toBeCloseTo(variant.conf_bar, 12);
    }
    expect(calibrateThreshold(warmup, 10)).toBeGreaterThan(calibrateThreshold(warmup, 90));
  });
});

describe('official-extra.json (edge cases computed by the official code)', () => {
  describe.each(officialExtra.trace_cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const W = c.inputs.window;
    const { confidences, skippedPositions } = tokenConfidences(c.inputs.token_logprobs);
    const expected = c.outputs;

    test('token confidences: unrounded bit-identical to -np.mean, rounded to the official values', () => {
      expect(confidences).toEqual(expected.token_confs_unrounded);
      expect(confidences.map(roundHalfEven3)).toEqual(expected.token_confs_full);
      expect(confidences.length + skippedPositions.length).toBe(c.inputs.token_logprobs.length);
      for (const i of skippedPositions) expect(c.inputs.token_logprobs[i]).toEqual([]);
    });

    test('groups and lowest group within 1e-3', () => {
      expect(mismatches(groupConfidences(confidences, W), expected.group_confs_full, OFFICIAL_TOLERANCE)).toEqual([]);
      const got = traceConfidence(confidences, { window: W });
      expect(closeTo(got.lowestGroup, expected.lowest_group_conf_min_conf, OFFICIAL_TOLERANCE)).toBe(true);
    });

    test('tail, mean, min window and every bottom percentage within 1e-3', () => {
      const got = traceConfidence(confidences, { window: W });
      expect(closeTo(got.tail, expected.tail_conf_window, OFFICIAL_TOLERANCE)).toBe(true);
      expect(closeTo(got.mean, expected.mean_conf, OFFICIAL_TOLERANCE)).toBe(true);
      expect(closeTo(tailConfidence(confidences, 2048), expected.tail_conf_2048, OFFICIAL_TOLERANCE)).toBe(true);
      expect(closeTo(minWindowConfidence(confidences, W), expected.min_window_conf_unrounded, OFFICIAL_TOLERANCE)).toBe(
        true,
      );
      for (const [fraction, value] of Object.entries(expected.bottom_window_conf)) {
        const percent = Number(fraction) * 100;
        expect([fraction, closeTo(bottomWindowConfidence(confidences, W, percent), value, OFFICIAL_TOLERANCE)]).toEqual(
          [fraction, true],
        );
      }
    });
  });

  test('the empty trace does not throw and gives the official zeros', () => {
    expect(groupConfidences([], 16)).toEqual([0]);
    expect(traceConfidence([], { window: 16 })).toEqual({ lowestGroup: 0, bottomPercent: 0, tail: 0, mean: 0 });
  });
});
