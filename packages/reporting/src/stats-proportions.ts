import normal from '@stdlib/stats-base-dists-normal';
import { StatisticsInputError } from './errors.js';
import { fisherExact } from './stats.js';

/*
 * Proportions and 2x2 tables, as a reviewer expects them (../shared/docs/statistics.md §2-§3): Wilson score
 * intervals, Newcombe's hybrid-score interval of a difference, Fisher's exact test for the verdict, Holm's
 * step-down adjustment and the Cochran–Mantel–Haenszel test over strata. Checked against scipy / statsmodels
 * in test/reference (make_reference.py). Undefined results (an empty group) are NaN, never a throw.
 */

export interface Interval {
  lower: number;
  upper: number;
}

function assertCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StatisticsInputError(`${name} is ${String(value)}; pass a non-negative integer count`);
  }
}

function assertCounts(k: number, n: number, fn: string, kName = 'successes', nName = 'n'): void {
  assertCount(k, `${fn}: ${kName}`);
  assertCount(n, `${fn}: ${nName}`);
  if (k > n) throw new StatisticsInputError(`${fn}: ${kName} (${k}) exceeds ${nName} (${n}); pass k <= n`);
}

function zFor(level: number, fn: string): number {
  if (!(level > 0 && level < 1))
    throw new StatisticsInputError(`${fn}: level is ${String(level)}; pass a fraction such as 0.95`);
  return normal.quantile(1 - (1 - level) / 2, 0, 1);
}

/**
 * Wilson score interval for k successes of n, no continuity correction, as
 * `scipy.stats.binomtest(k, n).proportion_ci(method='wilson')`. Never [1, 1] for k = n. NaN bounds for n = 0.
 */
export function wilsonInterval(successes: number, n: number, options: { level?: number } = {}): Interval {
  assertCounts(successes, n, 'wilsonInterval');
  const z = zFor(options.level ?? 0.95, 'wilsonInterval');
  if (n === 0) return { lower: Number.NaN, upper: Number.NaN };
  const p = successes / n;
  const denom = n + z * z;
  const centre = (successes + (z * z) / 2) / denom;
  const half = (z * Math.sqrt(n * p * (1 - p) + (z * z) / 4)) / denom;
  // At k = 0 (k = n) the bound is exactly 0 (1); floating point would leave it a few ulps off.
  return {
    lower: successes === 0 ? 0 : Math.max(0, centre - half),
    upper: successes === n ? 1 : Math.min(1, centre + half),
  };
}

export interface DifferenceInterval extends Interval {
  /** p1 − p2. */
  difference: number;
}

/**
 * Newcombe (1998) method 10, the hybrid score interval of p1 − p2 from the two Wilson intervals, as
 * statsmodels' `confint_proportions_2indep(method='newcomb')`. NaN when a group is empty.
 */
export function newcombeInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  options: { level?: number } = {},
): DifferenceInterval {
  assertCounts(x1, n1, 'newcombeInterval', 'x1', 'n1');
  assertCounts(x2, n2, 'newcombeInterval', 'x2', 'n2');
  const level = options.level ?? 0.95;
  zFor(level, 'newcombeInterval');
  if (n1 === 0 || n2 === 0) return { difference: Number.NaN, lower: Number.NaN, upper: Number.NaN };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const w1 = wilsonInterval(x1, n1, { level });
  const w2 = wilsonInterval(x2, n2, { level });
  const d = p1 - p2;
  return {
    difference: d,
    lower: d - Math.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2),
    upper: d + Math.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2),
  };
}

export interface ProportionComparison {
  /** p1 − p2 (NaN when a group is empty). */
  difference: number;
  /** Newcombe's hybrid score interval at level 1 − alpha. */
  interval: Interval & { level: number; method: 'newcombe' };
  /** Two-sided Fisher's exact test on [[x1, n1 − x1], [x2, n2 − x2]]. */
  pValue: number;
  /** p < alpha; null when not computable (an empty group). */
  significant: boolean | null;
  test: 'fisher-exact';
}

/**
 * The verdict on two proportions: Newcombe's interval for the difference and Fisher's exact p for the test.
 * Never a percentile bootstrap: at 0 % or 100 % a group's resamples are all equal and its interval collapses.
 */
export function compareProportions(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  options: { alpha?: number } = {},
): ProportionComparison {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1))
    throw new StatisticsInputError(`compareProportions: alpha is ${String(alpha)}; pass a fraction such as 0.05`);
  const ci = newcombeInterval(x1, n1, x2, n2, { level: 1 - alpha });
  const interval = { lower: ci.lower, upper: ci.upper, level: 1 - alpha, method: 'newcombe' as const };
  if (n1 === 0 || n2 === 0)
    return { difference: Number.NaN, interval, pValue: Number.NaN, significant: null, test: 'fisher-exact' };
  const { pValue } = fisherExact([
    [x1, n1 - x1],
    [x2, n2 - x2],
  ]);
  return { difference: ci.difference, interval, pValue, significant: pValue < alpha, test: 'fisher-exact' };
}

/**
 * Holm (1979) step-down adjusted p-values, in input order: monotone and capped at 1, as statsmodels'
 * `multipletests(method='holm')`. NaN entries (tests that could not be computed) stay NaN and do not count
 * towards the number of tests.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => {
    if (!Number.isNaN(p) && !(p >= 0 && p <= 1))
      throw new StatisticsInputError(
        `holmAdjust: pValues[${i}] is ${String(p)}; pass p-values in [0, 1] (NaN for not computable)`,
      );
  });
  const order = pValues
    .map((p, i) => [p, i] as const)
    .filter(([p]) => !Number.isNaN(p))
    .sort((a, b) => a[0] - b[0]);
  const m = order.length;
  const out = pValues.map(() => Number.NaN);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/** A 2x2 table [[a, b], [c, d]]. */
export type Table2x2 = readonly [readonly [number, number], readonly [number, number]];

export interface CmhResult {
  /** χ² with 1 df, no continuity correction; NaN when no stratum has variance. */
  statistic: number;
  pValue: number;
  /** Mantel–Haenszel pooled odds ratio Σ(ad/n) / Σ(bc/n). */
  commonOddsRatio: number;
  /** Strata that entered the test (a table with fewer than 2 observations carries no information). */
  strata: number;
}

/**
 * Cochran–Mantel–Haenszel test over per-stratum 2x2 tables (Mantel & Haenszel 1959), as statsmodels'
 * `StratifiedTable(tables).test_null_odds(correction=False)` and `.oddsratio_pooled`.
 */
export function cochranMantelHaenszel(tables: readonly Table2x2[]): CmhResult {
  let deviation = 0;
  let variance = 0;
  let orNum = 0;
  let orDen = 0;
  let strata = 0;
  tables.forEach((t, s) => {
    const [[a, b], [c, d]] = t;
    for (const [j, v] of [a, b, c, d].entries()) assertCount(v, `cochranMantelHaenszel: tables[${s}] cell ${j}`);
    const n = a + b + c + d;
    if (n < 2) return;
    strata++;
    deviation += a - ((a + b) * (a + c)) / n;
    variance += ((a + b) * (c + d) * (a + c) * (b + d)) / (n * n * (n - 1));
    orNum += (a * d) / n;
    orDen += (b * c) / n;
  });
  const statistic = variance > 0 ? (deviation * deviation) / variance : Number.NaN;
  // χ²(1) survival through the normal: P(χ² > s) = 2Φ(−√s), exact in the tail where 1 − cdf would cancel.
  const pValue = Number.isNaN(statistic) ? Number.NaN : Math.min(1, 2 * normal.cdf(-Math.sqrt(statistic), 0, 1));
  const commonOddsRatio = orDen > 0 ? orNum / orDen : orNum > 0 ? Number.POSITIVE_INFINITY : Number.NaN;
  return { statistic, pValue, commonOddsRatio, strata };
}
