import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mcnemarExact, pairedBootstrapDifference, type PairedOutcome } from '@deepconf-safety/reporting';

// Reference values from scipy / statsmodels (test/reference/make_paired_reference.py); CI has no scipy.
interface Reference {
  mcnemar: { b: number; c: number; pValue: number; scipyBinomtest: number }[];
  pairedBootstrap: { a: number[]; b: number[]; difference: number; lower: number; upper: number }[];
}
const REF = JSON.parse(
  readFileSync(new URL('./reference/paired-reference.json', import.meta.url), 'utf8'),
) as Reference;

describe("McNemar's exact test", () => {
  test.each(REF.mcnemar.map((r) => [r.b, r.c, r.pValue, r.scipyBinomtest] as const))(
    'b=%d c=%d: p = statsmodels %f',
    (b, c, p, scipyP) => {
      const r = mcnemarExact(b, c);
      expect(r.pValue).toBeCloseTo(p, 12);
      expect(r.pValue).toBeCloseTo(scipyP, 12);
    },
  );

  test('the worked value of statistics.md §5 (b = 3, c = 12 → 0.0352), symmetric in b and c', () => {
    expect(mcnemarExact(3, 12).pValue).toBeCloseTo(0.0352, 4);
    expect(mcnemarExact(12, 3).pValue).toBe(mcnemarExact(3, 12).pValue);
  });

  test('bad counts are refused, naming the argument', () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(/mcnemarExact: b is -1/);
    expect(() => mcnemarExact(1, 2.5)).toThrow(/c is 2.5/);
  });
});

const pairsOf = (a: number[], b: number[]): PairedOutcome[] => a.map((x, i) => ({ a: x === 1, b: b[i] === 1 }));

describe('paired bootstrap of an accuracy difference', () => {
  test.each(REF.pairedBootstrap.map((r, i) => [i, r] as const))(
    'case %d matches scipy.stats.bootstrap(paired=True) within Monte-Carlo error',
    (_i, r) => {
      const out = pairedBootstrapDifference(pairsOf(r.a, r.b), { resamples: 5_000, seed: 11 });
      expect(out.difference).toBeCloseTo(r.difference, 12);
      // Both are percentiles of differences on a grid of 1/n: one grid step plus Monte-Carlo error.
      const tolerance = 1 / r.a.length + 0.005;
      expect(Math.abs(out.lower - r.lower)).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(out.upper - r.upper)).toBeLessThanOrEqual(tolerance);
    },
  );

  test('seeded: the same seed gives the same interval, another seed a slightly different one', () => {
    // The 500-pair case: its bounds lie on a grid fine enough (1/500) for resampling noise to show.
    const r = REF.pairedBootstrap[3] as Reference['pairedBootstrap'][number];
    const pairs = pairsOf(r.a, r.b);
    const one = pairedBootstrapDifference(pairs, { resamples: 2000, seed: 1 });
    expect(pairedBootstrapDifference(pairs, { resamples: 2000, seed: 1 })).toEqual(one);
    const others = [2, 3, 4, 5].map((seed) => pairedBootstrapDifference(pairs, { resamples: 2000, seed }));
    expect(others.some((o) => o.lower !== one.lower || o.upper !== one.upper)).toBe(true);
  });

  test('pairing matters: identical correctness gives a zero-width interval at 0, where unpaired resampling would not', () => {
    const same = Array.from({ length: 50 }, (_, i) => ({ a: i % 3 === 0, b: i % 3 === 0 }));
    expect(pairedBootstrapDifference(same, { resamples: 500 })).toMatchObject({ difference: 0, lower: 0, upper: 0 });
  });

  test('clusters are resampled whole: a prompt run under 3 seeds counts once per draw, widening the interval', () => {
    const base = REF.pairedBootstrap[0] as Reference['pairedBootstrap'][number];
    const single = pairsOf(base.a, base.b);
    const tripled = single.flatMap((p, i) => [0, 1, 2].map(() => ({ ...p, cluster: `p${i}` })));
    const naive = pairedBootstrapDifference(
      single.flatMap((p) => [p, p, p]),
      { resamples: 4000, seed: 3 },
    );
    const clustered = pairedBootstrapDifference(tripled, { resamples: 4000, seed: 3 });
    expect(clustered.clusters).toBe(single.length);
    expect(clustered.upper - clustered.lower).toBeGreaterThan(1.4 * (naive.upper - naive.lower));
  });

  test('no pairs: NaN bounds; bad options are refused', () => {
    expect(pairedBootstrapDifference([])).toMatchObject({ n: 0 });
    expect(Number.isNaN(pairedBootstrapDifference([]).lower)).toBe(true);
    expect(() => pairedBootstrapDifference([{ a: true, b: false }], { resamples: 0 })).toThrow(/resamples/);
  });
});
