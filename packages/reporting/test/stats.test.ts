import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  StatisticsInputError,
  auroc,
  bootstrapCI,
  bootstrapTwoSampleCI,
  cohensD,
  fisherExact,
  isReportingError,
  mannWhitneyU,
  welchTTest,
} from '@deepconf-safety/reporting';

/** Exact two-sided Fisher p-value with BigInt binomials: an independent hand computation. */
function fisherByHand([[a, b], [c, d]]: [[number, number], [number, number]]): number {
  const choose = (n: number, k: number): bigint => {
    let r = 1n;
    for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
    return r;
  };
  const r1 = a + b,
    c1 = a + c,
    total = a + b + c + d;
  const weight = (x: number): bigint => choose(r1, x) * choose(total - r1, c1 - x);
  const observed = weight(a);
  let sum = 0n;
  for (let x = Math.max(0, c1 - (c + d)); x <= Math.min(r1, c1); x++) if (weight(x) <= observed) sum += weight(x);
  return Number(sum) / Number(choose(total, c1));
}

describe('fisherExact (scipy.stats.fisher_exact, two-sided)', () => {
  test('scipy docs: whales and sharks [[8, 2], [1, 5]] → odds ratio 20, p = 0.0349650...', () => {
    const r = fisherExact([
      [8, 2],
      [1, 5],
    ]);
    expect(r.oddsRatio).toBeCloseTo(20, 12);
    expect(r.pValue).toBeCloseTo(0.03496503496503495, 12);
  });

  test('scipy docs (1.11+): [[6, 2], [1, 4]] → odds ratio 12, p = 0.1025641... (= 176/1716 by hand)', () => {
    const r = fisherExact([
      [6, 2],
      [1, 4],
    ]);
    expect(r.oddsRatio).toBe(12);
    expect(r.pValue).toBeCloseTo(176 / 1716, 12);
  });

  test('[[7, 17], [15, 5]]: odds ratio 0.1372549..., p = 0.0057684 computed exactly by hand', () => {
    const r = fisherExact([
      [7, 17],
      [15, 5],
    ]);
    expect(r.oddsRatio).toBeCloseTo(0.13725490196078433, 14);
    // Exact rational value 12137256584 / 2104098963720.
    expect(r.pValue).toBeCloseTo(0.00576838675046995, 12);
  });

  test('agrees with the exact BigInt computation on random tables', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(15), fc.nat(15), fc.nat(15), fc.nat(15)), ([a, b, c, d]) => {
        fc.pre(a + b > 0 && c + d > 0 && a + c > 0 && b + d > 0);
        const p = fisherExact([
          [a, b],
          [c, d],
        ]).pValue;
        expect(
          Math.abs(
            p -
              Math.min(
                1,
                fisherByHand([
                  [a, b],
                  [c, d],
                ]),
              ),
          ),
        ).toBeLessThan(1e-9);
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  test('degenerate margins and infinite odds ratios follow scipy', () => {
    expect(
      fisherExact([
        [0, 0],
        [3, 4],
      ]),
    ).toEqual({ pValue: 1, oddsRatio: Number.NaN });
    expect(
      fisherExact([
        [5, 0],
        [0, 5],
      ]).oddsRatio,
    ).toBe(Number.POSITIVE_INFINITY);
    expect(
      fisherExact([
        [5, 0],
        [0, 5],
      ]).pValue,
    ).toBeCloseTo(2 / 252, 12);
    expect(
      fisherExact([
        [0, 5],
        [5, 0],
      ]).oddsRatio,
    ).toBe(0);
  });

  test('rejects counts that are not non-negative integers, naming the cell', () => {
    expect(() =>
      fisherExact([
        [1.5, 2],
        [3, 4],
      ]),
    ).toThrow(/table\[0\]\[0\]/);
    expect(() =>
      fisherExact([
        [1, 2],
        [3, -4],
      ]),
    ).toThrow(StatisticsInputError);
  });
});

// R's `sleep` data (t.test(extra ~ group) is Welch by default): t = -1.8608, df = 17.776, p = 0.07939.
const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('welchTTest and cohensD', () => {
  test("the sleep data: Welch's t = -1.8608, df = 17.776, p = 0.0794", () => {
    const r = welchTTest(g1, g2);
    expect(r.t).toBeCloseTo(-1.860813467486853, 9);
    expect(r.df).toBeCloseTo(17.77647, 4);
    expect(r.pValue).toBeCloseTo(0.07939414, 6);
  });

  test('hand computation: x = [1, 2, 3, 4], y = [2, 4, 6, 8, 10]', () => {
    // mean 2.5 vs 6; var 5/3 and 10; se² = 5/12 + 2 = 29/12; t = -3.5 / sqrt(29/12).
    const r = welchTTest([1, 2, 3, 4], [2, 4, 6, 8, 10]);
    expect(r.t).toBeCloseTo(-3.5 / Math.sqrt(29 / 12), 12);
    expect(r.df).toBeCloseTo((29 / 12) ** 2 / ((5 / 12) ** 2 / 3 + 2 ** 2 / 4), 12);
    // t ≈ −2.251 on df ≈ 5.05: between the t-table's two-sided 10% (2.015) and 5% (2.571) points at df = 5.
    expect(r.pValue).toBeGreaterThan(0.05);
    expect(r.pValue).toBeLessThan(0.1);
  });

  test("Cohen's d with the pooled SD, by hand", () => {
    // pooled variance = (3·5/3 + 4·10) / 7 = 45/7.
    expect(cohensD([1, 2, 3, 4], [2, 4, 6, 8, 10])).toBeCloseTo(-3.5 / Math.sqrt(45 / 7), 12);
    expect(cohensD(g1, g2)).toBeCloseTo(-0.8321810813495395, 12);
  });

  test('too few values give NaN; non-finite values are refused', () => {
    expect(Number.isNaN(welchTTest([1], [2, 3]).pValue)).toBe(true);
    expect(() => welchTTest([1, Number.NaN], [2, 3])).toThrow(/welchTTest x\[1\]/);
  });
});

describe('mannWhitneyU (scipy.stats.mannwhitneyu, two-sided)', () => {
  const males = [19, 22, 16, 29, 24];
  const females = [20, 11, 17, 12];

  test('scipy docs: males vs females → U = 17, exact p = 0.1111 (method="auto" picks exact)', () => {
    const r = mannWhitneyU(males, females);
    expect(r.u).toBe(17);
    expect(r.method).toBe('exact');
    expect(r.pValue).toBeCloseTo(0.1111111111111111, 12);
  });

  test('scipy docs: the same with method="asymptotic" → p = 0.11134688653314041', () => {
    const r = mannWhitneyU(males, females, { method: 'asymptotic' });
    expect(r.u).toBe(17);
    expect(r.pValue).toBeCloseTo(0.11134688653314041, 12);
  });

  test('exact p-values equal brute-force enumeration of all splits', () => {
    const all = [1, 2, 3, 4, 5, 6, 7];
    const x = [2, 5, 6, 7];
    const y = [1, 3, 4];
    const uOf = (xs: number[], ys: number[]) => xs.reduce((s, a) => s + ys.filter((b) => a > b).length, 0);
    const observed = Math.max(uOf(x, y), 12 - uOf(x, y));
    let extreme = 0,
      total = 0;
    for (let mask = 0; mask < 1 << 7; mask++) {
      const xs = all.filter((_, i) => mask & (1 << i));
      if (xs.length !== 4) continue;
      const ys = all.filter((_, i) => !(mask & (1 << i)));
      total++;
      if (Math.max(uOf(xs, ys), 12 - uOf(xs, ys)) >= observed) extreme++;
    }
    expect(mannWhitneyU(x, y).pValue).toBeCloseTo(extreme / total, 12);
  });

  test('ties switch "auto" to the tie-corrected normal approximation, by hand', () => {
    const x = [1, 2, 2, 3];
    const y = [2, 3, 4, 5, 6];
    // Pooled ranks: 1→1, 2→3 (×3), 3→5.5 (×2), 4→7, 5→8, 6→9. R1 = 1 + 3 + 3 + 5.5 = 12.5; U1 = 2.5.
    // Tie term Σ(t³−t) = 24 + 6 = 30; σ² = 20/12 · (10 − 30/72); z = (17.5 − 10 − 0.5)/σ.
    const sigma = Math.sqrt((20 / 12) * (10 - 30 / 72));
    const z = 7 / sigma;
    const r = mannWhitneyU(x, y);
    expect(r.method).toBe('asymptotic');
    expect(r.u).toBe(2.5);
    // 2·(1 − Φ(z)) with z = 1.751521, the tail integrated numerically (Simpson, 2e5 steps) = 0.0798562.
    expect(z).toBeCloseTo(1.751521, 5);
    expect(r.pValue).toBeCloseTo(0.0798562, 6);
    expect(() => mannWhitneyU(x, y, { method: 'exact' })).toThrow(/ties/);
  });

  test('large samples use the asymptotic method', () => {
    const x = Array.from({ length: 12 }, (_, i) => i * 1.1);
    const y = Array.from({ length: 10 }, (_, i) => i * 1.3 + 0.05);
    expect(mannWhitneyU(x, y).method).toBe('asymptotic');
  });
});

describe('auroc', () => {
  test('sklearn roc_auc_score docs example: [0.1, 0.4, 0.35, 0.8] → 0.75', () => {
    expect(auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
  });

  test('equals U / (n₁n₂) of the Mann–Whitney statistic, ties counting ½', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { minLength: 2, maxLength: 30 }),
        (pairs) => {
          const scores = pairs.map((p) => p[0]);
          const labels = pairs.map((p) => p[1]);
          const pos = scores.filter((_, i) => labels[i]);
          const neg = scores.filter((_, i) => !labels[i]);
          fc.pre(pos.length > 0 && neg.length > 0);
          let wins = 0;
          for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
          expect(auroc(scores, labels)).toBeCloseTo(wins / (pos.length * neg.length), 12);
        },
      ),
      { numRuns: 100, seed: 3 },
    );
  });

  test('one class only is NaN; mismatched lengths throw', () => {
    expect(Number.isNaN(auroc([1, 2], [true, true]))).toBe(true);
    expect(() => auroc([1, 2], [true])).toThrow(/2 scores but 1 labels/);
  });
});

describe('bootstrapCI', () => {
  const sample = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9];
  const mean = (s: readonly number[]) => s.reduce((a, b) => a + b, 0) / s.length;

  test('is deterministic for a seed and changes with the seed', () => {
    const a = bootstrapCI(sample, mean, { resamples: 2000, seed: 1 });
    const b = bootstrapCI(sample, mean, { resamples: 2000, seed: 1 });
    const c = bootstrapCI(sample, mean, { resamples: 2000, seed: 2 });
    expect(a).toEqual(b);
    expect(c.lower).not.toBe(a.lower);
  });

  test('percentile interval brackets the estimate and roughly matches the normal-theory interval', () => {
    const r = bootstrapCI(sample, mean, { resamples: 4000, level: 0.95, seed: 5 });
    expect(r.estimate).toBeCloseTo(mean(sample), 12);
    expect(r.lower).toBeLessThan(r.estimate);
    expect(r.upper).toBeGreaterThan(r.estimate);
    const sd = Math.sqrt(sample.reduce((s, v) => s + (v - mean(sample)) ** 2, 0) / (sample.length - 1));
    const halfWidth = (1.96 * sd) / Math.sqrt(sample.length);
    expect((r.upper - r.lower) / 2).toBeGreaterThan(0.75 * halfWidth);
    expect((r.upper - r.lower) / 2).toBeLessThan(1.1 * halfWidth);
  });

  test('a constant sample has a zero-width interval; a wider level gives a wider interval', () => {
    const flat = bootstrapCI([2, 2, 2], mean, { resamples: 50 });
    expect([flat.lower, flat.upper]).toEqual([2, 2]);
    const narrow = bootstrapCI(sample, mean, { level: 0.5, resamples: 1000, seed: 9 });
    const wide = bootstrapCI(sample, mean, { level: 0.99, resamples: 1000, seed: 9 });
    expect(wide.upper - wide.lower).toBeGreaterThan(narrow.upper - narrow.lower);
  });

  test('two-sample version keeps group sizes and bad options are explained', () => {
    const sizes: number[] = [];
    bootstrapTwoSampleCI([1, 2, 3], [4, 5], (x, y) => (sizes.push(x.length * 10 + y.length), mean(x) - mean(y)), {
      resamples: 20,
    });
    expect(new Set(sizes)).toEqual(new Set([32]));
    let error: unknown;
    try {
      bootstrapCI([], mean);
    } catch (e) {
      error = e;
    }
    expect(isReportingError(error)).toBe(true);
    expect(() => bootstrapCI(sample, mean, { level: 95 })).toThrow(/fraction such as 0.95/);
  });
});
