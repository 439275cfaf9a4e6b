import normal from '@stdlib/stats-base-dists-normal';
import studentT from '@stdlib/stats-base-dists-t';
import { StatisticsInputError } from './errors.js';
import { assertFinite, rankWithTies } from './stats.js';

/*
 * Rank statistics with intervals: AUROC with DeLong's variance and Spearman's ρ with a Fisher-z interval.
 * No library in the reference stack computes either interval; test/reference/make_reference.py computes them
 * from the papers' definitions (DeLong: the O(n1·n0) kernel form, a different formulation from this one).
 */

export interface AurocInterval {
  /** P(score of a random positive > score of a random negative), ties counting ½. */
  auc: number;
  lower: number;
  upper: number;
  level: number;
  /** DeLong's variance of the AUC estimate. */
  variance: number;
  positives: number;
  negatives: number;
  /** The variance is 0 (perfect separation or all scores equal): the interval is a point and says nothing. */
  degenerate: boolean;
}

const sum = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0);

function sampleVariance(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = sum(xs) / xs.length;
  return xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1);
}

/**
 * AUROC of `scores` as a predictor of `labels` (true = positive) with the DeLong et al. (1988) interval,
 * computed from midranks (Sun & Xu 2014): the structural components V10 = (Tz − Tx)/n0 of each positive and
 * V01 = 1 − (Tz − Ty)/n1 of each negative. The normal interval auc ± z·√var is clipped to [0, 1]. NaN interval
 * when a class has fewer than 2 members (the variance needs 2).
 */
export function aurocInterval(
  scores: readonly number[],
  labels: readonly boolean[],
  options: { level?: number } = {},
): AurocInterval {
  if (scores.length !== labels.length)
    throw new StatisticsInputError(
      `aurocInterval: ${scores.length} scores but ${labels.length} labels; pass one label per score`,
    );
  assertFinite(scores, 'aurocInterval scores');
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1))
    throw new StatisticsInputError(`aurocInterval: level is ${String(level)}; pass a fraction such as 0.95`);
  const pos = scores.filter((_, i) => labels[i]);
  const neg = scores.filter((_, i) => !labels[i]);
  const m = pos.length;
  const n = neg.length;
  const base = { level, positives: m, negatives: n };
  if (m === 0 || n === 0)
    return { ...base, auc: Number.NaN, lower: Number.NaN, upper: Number.NaN, variance: Number.NaN, degenerate: false };
  const tz = rankWithTies([...pos, ...neg]).ranks;
  const tx = rankWithTies(pos).ranks;
  const ty = rankWithTies(neg).ranks;
  const auc = (sum(tz.slice(0, m)) - (m * (m + 1)) / 2) / (m * n);
  const v10 = pos.map((_, i) => (tz[i]! - tx[i]!) / n);
  const v01 = neg.map((_, j) => 1 - (tz[m + j]! - ty[j]!) / m);
  const variance = sampleVariance(v10) / m + sampleVariance(v01) / n;
  if (Number.isNaN(variance))
    return { ...base, auc, lower: Number.NaN, upper: Number.NaN, variance, degenerate: false };
  const half = normal.quantile(1 - (1 - level) / 2, 0, 1) * Math.sqrt(variance);
  return {
    ...base,
    auc,
    lower: Math.max(0, auc - half),
    upper: Math.min(1, auc + half),
    variance,
    degenerate: variance === 0,
  };
}

export interface SpearmanResult {
  rho: number;
  /** Two-sided, from t = ρ√((n−2)/(1−ρ²)) with n − 2 df, as `scipy.stats.spearmanr`. */
  pValue: number;
  /** Fisher-z interval with the Fieller, Hartley & Pearson (1957) variance 1.06/(n − 3); NaN for n < 4. */
  lower: number;
  upper: number;
  level: number;
  n: number;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const ma = sum(a) / a.length;
  const mb = sum(b) / b.length;
  let sab = 0,
    saa = 0,
    sbb = 0;
  a.forEach((v, i) => {
    sab += (v - ma) * (b[i]! - mb);
    saa += (v - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  });
  return saa === 0 || sbb === 0 ? Number.NaN : sab / Math.sqrt(saa * sbb);
}

/** Spearman's rank correlation (midranks for ties) with its interval and n. */
export function spearmanCorrelation(
  x: readonly number[],
  y: readonly number[],
  options: { level?: number } = {},
): SpearmanResult {
  if (x.length !== y.length)
    throw new StatisticsInputError(`spearmanCorrelation: ${x.length} x values but ${y.length} y values; pass pairs`);
  assertFinite(x, 'spearmanCorrelation x');
  assertFinite(y, 'spearmanCorrelation y');
  const level = options.level ?? 0.95;
  const n = x.length;
  const nan = { rho: Number.NaN, pValue: Number.NaN, lower: Number.NaN, upper: Number.NaN, level, n };
  if (n < 3) return nan;
  const rho = pearson(rankWithTies(x).ranks, rankWithTies(y).ranks);
  if (Number.isNaN(rho)) return nan;
  const df = n - 2;
  const t = Math.abs(rho) >= 1 ? Number.POSITIVE_INFINITY : rho * Math.sqrt(df / (1 - rho * rho));
  const pValue = Math.min(1, 2 * studentT.cdf(-Math.abs(t), df));
  if (n < 4 || Math.abs(rho) >= 1) return { ...nan, rho, pValue };
  const z = normal.quantile(1 - (1 - level) / 2, 0, 1) * Math.sqrt(1.06 / (n - 3));
  return { rho, pValue, lower: Math.tanh(Math.atanh(rho) - z), upper: Math.tanh(Math.atanh(rho) + z), level, n };
}
