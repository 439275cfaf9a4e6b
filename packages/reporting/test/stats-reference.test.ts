import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import {
  StatisticsInputError,
  aurocInterval,
  cochranMantelHaenszel,
  compareProportions,
  differenceInProportions,
  expectedCalibrationError,
  flagLeastConfident,
  holmAdjust,
  logisticRegression,
  logisticRegressionMulti,
  newcombeInterval,
  permutationTest,
  riskCoverageCurve,
  spearmanCorrelation,
  wilsonInterval,
  type Table2x2,
} from '@deepconf-safety/reporting';

/*
 * Every value here was computed by test/reference/make_reference.py with scipy 1.10 / statsmodels 0.13 /
 * sklearn 1.2 (Debian's python3 packages) and committed as reference.json, because CI has no scipy.
 * DeLong's variance, the risk-coverage points and the Spearman interval come from direct implementations in
 * that script (no library there has them); the DeLong one is the O(n1·n0) kernel form, not midranks.
 */
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
const ref = JSON.parse(readFileSync(new URL('./reference/reference.json', import.meta.url), 'utf8')) as Record<
  string,
  any
>;
const num = (v: Num): number =>
  v === 'NaN' ? Number.NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
const close = (actual: number, expected: Num, tol = 1e-9): void => {
  const e = num(expected);
  if (!Number.isFinite(e)) expect(actual).toBe(e);
  else expect(Math.abs(actual - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
};

describe('wilsonInterval (scipy binomtest(...).proportion_ci(method="wilson"))', () => {
  test.each(ref.wilson.map((c: any) => [`${c.k}/${c.n} at ${c.level}`, c]))('%s', (_name, c: any) => {
    const w = wilsonInterval(c.k, c.n, { level: c.level });
    close(w.lower, c.lower, 1e-12);
    close(w.upper, c.upper, 1e-12);
  });
  test('9/9 is never [1, 1]; n = 0 is not computable; bad counts throw', () => {
    expect(wilsonInterval(9, 9).lower).toBeLessThan(0.71);
    expect(Number.isNaN(wilsonInterval(0, 0).lower)).toBe(true);
    expect(() => wilsonInterval(3, 2)).toThrow(StatisticsInputError);
    expect(() => wilsonInterval(1.5, 2)).toThrow(/non-negative integer/);
  });
});

describe('newcombeInterval (statsmodels confint_proportions_2indep(method="newcomb"))', () => {
  test.each(ref.newcombe.map((c: any) => [`${c.x1}/${c.n1} vs ${c.x2}/${c.n2} at ${c.level}`, c]))(
    '%s',
    (_n, c: any) => {
      const r = newcombeInterval(c.x1, c.n1, c.x2, c.n2, { level: c.level });
      close(r.difference, c.difference, 1e-12);
      close(r.lower, c.lower, 1e-9);
      close(r.upper, c.upper, 1e-9);
    },
  );
});

describe('compareProportions: Newcombe interval and Fisher exact p', () => {
  test.each(ref.fisher.map((c: any) => [`${c.x1}/${c.n1} vs ${c.x2}/${c.n2}`, c]))(
    'p of %s as scipy.stats.fisher_exact',
    (_n, c: any) => {
      close(compareProportions(c.x1, c.n1, c.x2, c.n2).pValue, c.pValue, 1e-9);
    },
  );
  test('0/1 vs 5/5 is not significant (p = 1/6) although Newcombe excludes 0: both are reported', () => {
    const r = compareProportions(0, 1, 5, 5);
    expect(r.significant).toBe(false);
    expect(r.pValue).toBeCloseTo(1 / 6, 12);
    expect(r.interval.upper).toBeLessThan(0);
    expect(r.interval.method).toBe('newcombe');
  });
  test('an empty group is not computable (significant null), not an error', () => {
    const r = compareProportions(0, 0, 3, 5);
    expect(r.significant).toBeNull();
    expect(Number.isNaN(r.pValue)).toBe(true);
  });
});

describe('holmAdjust (statsmodels multipletests(method="holm"))', () => {
  test.each(ref.holm.map((c: any) => [JSON.stringify(c.p), c]))('%s', (_n, c: any) => {
    holmAdjust(c.p).forEach((v, i) => close(v, c.adjusted[i], 1e-12));
  });
  test('NaN stays NaN and does not count as a test', () => {
    const r = holmAdjust([0.01, Number.NaN, 0.04]);
    expect(r[0]).toBeCloseTo(0.02, 12);
    expect(Number.isNaN(r[1]!)).toBe(true);
    expect(r[2]).toBeCloseTo(0.04, 12);
    expect(() => holmAdjust([1.2])).toThrow(StatisticsInputError);
  });
});

describe('cochranMantelHaenszel (statsmodels StratifiedTable.test_null_odds(correction=False), oddsratio_pooled)', () => {
  test.each(ref.cmh.map((c: any) => [c.name, c]))('%s', (_n, c: any) => {
    const r = cochranMantelHaenszel(c.tables as Table2x2[]);
    close(r.statistic, c.statistic, 1e-9);
    close(r.pValue, c.pValue, 1e-9);
    close(r.commonOddsRatio, c.commonOddsRatio, 1e-9);
  });
  test('a stratum with one prompt carries no information and changes nothing', () => {
    const base = ref.cmh[0].tables as Table2x2[];
    const withSingle = [
      ...base,
      [
        [1, 0],
        [0, 0],
      ],
    ] as Table2x2[];
    expect(cochranMantelHaenszel(withSingle).statistic).toBeCloseTo(cochranMantelHaenszel(base).statistic, 12);
    expect(cochranMantelHaenszel(withSingle).strata).toBe(base.length);
    expect(Number.isNaN(cochranMantelHaenszel([]).pValue)).toBe(true);
  });
});

describe('logisticRegression (statsmodels Logit(y, add_constant(x)).fit(method="newton"))', () => {
  test.each(ref.logistic.single.map((c: any) => [c.name, c]))('one predictor: %s', (_n, c: any) => {
    const r = logisticRegression(c.x, c.y);
    expect(r.converged).toBe(c.converged);
    if (!c.converged) {
      expect(Number.isNaN(r.slope)).toBe(true);
      expect(r.failure).not.toBeNull();
      return;
    }
    close(r.intercept, c.params[0], 1e-7);
    close(r.slope, c.params[1], 1e-7);
    close(r.slopeSE, c.bse[1], 1e-7);
    close(r.slopePValue, c.pvalues[1], 1e-7);
  });
  test.each(ref.logistic.multi.map((c: any) => [c.name, c]))('several predictors: %s', (_n, c: any) => {
    const r = logisticRegressionMulti(c.X, c.y);
    expect(r.converged).toBe(c.converged);
    if (!c.converged) return;
    r.coefficients.forEach((v, j) => close(v, c.params[j], 1e-7));
    r.standardErrors.forEach((v, j) => close(v, c.bse[j], 1e-7));
    r.pValues.forEach((v, j) => close(v, c.pvalues[j], 1e-7));
  });
  test('perfect separation is reported as such, not as a huge slope', () => {
    expect(logisticRegression([0.1, 0.2, 0.3, 0.6, 0.7, 0.9], [false, false, false, true, true, true]).failure).toBe(
      'separation',
    );
    expect(logisticRegression([0.1, 0.2], [true, true]).failure).toBe('too-few');
    expect(() => logisticRegression([0.1, 0.2], [true])).toThrow(StatisticsInputError);
  });
});

describe('aurocInterval (DeLong; AUC as sklearn roc_auc_score, variance from the direct DeLong 1988 kernel)', () => {
  test.each(ref.auroc.map((c: any) => [c.name, c]))('%s', (_n, c: any) => {
    const r = aurocInterval(c.scores, c.labels, { level: c.level });
    close(r.auc, c.sklearnAuc, 1e-12);
    close(r.variance, c.variance, 1e-12);
    close(r.lower, c.lower, 1e-9);
    close(r.upper, c.upper, 1e-9);
  });
  test('perfect separation gives a point interval flagged degenerate', () => {
    expect(aurocInterval([0.1, 0.2, 0.8, 0.9], [false, false, true, true]).degenerate).toBe(true);
    expect(aurocInterval([0.1, 0.3, 0.2, 0.9], [false, false, true, true]).degenerate).toBe(false);
  });
});

describe('expectedCalibrationError and the reliability diagram (sklearn calibration_curve(strategy="uniform"))', () => {
  test.each(ref.calibration.map((c: any) => [c.name, c]))('%s', (_n, c: any) => {
    const r = expectedCalibrationError(c.probabilities, c.correct, { bins: c.bins });
    close(r.ece, c.ece, 1e-12);
    const nonEmpty = r.bins.filter((b) => b.count > 0);
    expect(nonEmpty.map((b) => b.index)).toEqual(c.binIndex);
    expect(nonEmpty.map((b) => b.count)).toEqual(c.counts);
    nonEmpty.forEach((b, i) => {
      close(b.accuracy as number, c.accuracy[i], 1e-12);
      close(b.meanConfidence as number, c.meanConfidence[i], 1e-12);
    });
    expect(r.bins).toHaveLength(c.bins);
  });
});

describe('riskCoverageCurve and flagLeastConfident', () => {
  test.each(ref.riskCoverage.map((c: any) => [c.name, c]))('%s (points from the script)', (_n, c: any) => {
    const pts = riskCoverageCurve(c.confidences, c.correct);
    expect(pts.map((p) => p.kept)).toEqual(c.points.map((p: any) => p.kept));
    pts.forEach((p, i) => {
      close(p.coverage, c.points[i].coverage, 1e-12);
      if (c.points[i].risk === null) expect(p.risk).toBeNull();
      else close(p.risk as number, c.points[i].risk, 1e-12);
    });
  });
  test('flagging the least confident third catches the wrong ones among them; ties are flagged together', () => {
    const conf = [0.9, 0.2, 0.5, 0.7, 0.5, 0.1];
    const ok = [true, false, true, true, false, false];
    const r = flagLeastConfident(conf, ok, 1 / 3);
    expect(r).toMatchObject({ flagged: 2, wrong: 3, wrongCaught: 2, cut: 0.2 });
    // Half is 3, but the tie at 0.5 would make it 4: only the 2 below the tie are flagged.
    expect(flagLeastConfident(conf, ok, 0.5)).toMatchObject({ flagged: 2, wrongCaught: 2, cut: 0.2 });
    // Mostly unanimous votes: the 1.0 tie is not flagged wholesale.
    expect(
      flagLeastConfident(
        [0.6, 0.7, 1, 1, 1, 1, 1, 1, 1, 1],
        [false, true, true, true, true, true, true, true, true, false],
        0.2,
      ),
    ).toMatchObject({ flagged: 2, wrongCaught: 1 });
    expect(flagLeastConfident([1, 1, 1], [true, true, true], 0.5).caughtShare).toBeNull();
  });
});

describe('spearmanCorrelation (rho and p as scipy.stats.spearmanr; Fisher-z interval with variance 1.06/(n-3))', () => {
  test.each(ref.spearman.map((c: any) => [c.name, c]))('%s', (_n, c: any) => {
    const r = spearmanCorrelation(c.x, c.y);
    close(r.rho, c.rho, 1e-12);
    close(r.pValue, c.pValue, 1e-9);
    close(r.lower, c.lower, 1e-9);
    close(r.upper, c.upper, 1e-9);
    expect(r.n).toBe(c.x.length);
  });
  test('a constant variable is not computable', () => {
    expect(Number.isNaN(spearmanCorrelation([1, 1, 1, 1], [1, 2, 3, 4]).rho)).toBe(true);
  });
});

describe('permutationTest (seeded Monte Carlo against the exact permutation p)', () => {
  test.each(ref.permutation.map((c: any) => [c.name, c]))('%s', (_n, c: any) => {
    const a = c.a.map((v: number) => v === 1);
    const b = c.b.map((v: number) => v === 1);
    const r = permutationTest(a, b, differenceInProportions, { permutations: 20_000, seed: 7 });
    close(r.observed, c.observed, 1e-12);
    const p = c.exactPValue as number;
    // Monte Carlo error of (b+1)/(m+1) around the exact p: 4 standard errors.
    expect(Math.abs(r.pValue - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / 20_000) + 1 / 20_001);
    expect(permutationTest(a, b, differenceInProportions, { permutations: 500, seed: 7 }).pValue).toBe(
      permutationTest(a, b, differenceInProportions, { permutations: 500, seed: 7 }).pValue,
    );
  });
});
