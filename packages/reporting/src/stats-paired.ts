import binomial from '@stdlib/stats-base-dists-binomial';
import { StatisticsInputError } from './errors.js';
import { seededRandom } from './stats.js';

/*
 * Paired comparisons of two models or settings run on the same prompts (../shared/docs/statistics.md §5):
 * McNemar's exact test on the discordant pairs and a paired bootstrap interval of the accuracy difference.
 * Checked against scipy / statsmodels in test/reference (make_paired_reference.py).
 */

export interface McNemarResult {
  /** Pairs where A was right and B wrong. */
  b: number;
  /** Pairs where A was wrong and B right. */
  c: number;
  /** Two-sided exact p-value: the binomial test of b in b + c at 1/2 (1 when there is no discordant pair). */
  pValue: number;
}

/** McNemar's exact test, as `statsmodels.stats.contingency_tables.mcnemar([[a, b], [c, d]], exact=True)`. */
export function mcnemarExact(b: number, c: number): McNemarResult {
  for (const [v, name] of [
    [b, 'b'],
    [c, 'c'],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new StatisticsInputError(
        `mcnemarExact: ${name} is ${String(v)}; pass a non-negative integer count of discordant pairs`,
      );
  }
  const n = b + c;
  if (n === 0) return { b, c, pValue: 1 };
  // Symmetric at 1/2: twice the smaller tail (the tail includes the observed count).
  return { b, c, pValue: Math.min(1, 2 * binomial.cdf(Math.min(b, c), n, 0.5)) };
}

/** One paired observation: correctness of A and of B on the same prompt (and seed); `cluster` groups pairs resampled together. */
export interface PairedOutcome {
  a: boolean;
  b: boolean;
  /** Pairs of one cluster (e.g. one prompt across seeds) are resampled together; default: each pair alone. */
  cluster?: string;
}

export interface PairedBootstrapResult {
  /** Observed accuracy(A) − accuracy(B). */
  difference: number;
  lower: number;
  upper: number;
  /** Pairs and clusters resampled. */
  n: number;
  clusters: number;
  resamples: number;
}

export interface PairedBootstrapOptions {
  resamples?: number;
  seed?: number;
  level?: number;
}

/** Per cluster: how many pairs, and the sum of a − b over them. */
function clusterSums(pairs: readonly PairedOutcome[]): { count: Float64Array; diff: Float64Array } {
  const index = new Map<string, number>();
  const count: number[] = [];
  const diff: number[] = [];
  pairs.forEach((p, i) => {
    const key = p.cluster ?? `#${i}`;
    let k = index.get(key);
    if (k === undefined) {
      k = count.length;
      index.set(key, k);
      count.push(0);
      diff.push(0);
    }
    count[k] = (count[k] as number) + 1;
    diff[k] = (diff[k] as number) + (p.a ? 1 : 0) - (p.b ? 1 : 0);
  });
  return { count: Float64Array.from(count), diff: Float64Array.from(diff) };
}

/** numpy's default (linear) percentile of a sorted array. */
function sortedPercentile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/**
 * Percentile interval of accuracy(A) − accuracy(B) from resampling pairs (or whole clusters of pairs) with
 * replacement, so each resample keeps A and B on the same prompts. Seeded: the same input gives the same interval.
 * NaN bounds for no pairs.
 */
export function pairedBootstrapDifference(
  pairs: readonly PairedOutcome[],
  options: PairedBootstrapOptions = {},
): PairedBootstrapResult {
  const resamples = options.resamples ?? 10_000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new StatisticsInputError(
      `pairedBootstrapDifference: resamples is ${String(resamples)}; pass an integer >= 1`,
    );
  if (!(level > 0 && level < 1))
    throw new StatisticsInputError(
      `pairedBootstrapDifference: level is ${String(level)}; pass a fraction such as 0.95`,
    );
  const { count, diff } = clusterSums(pairs);
  const k = count.length;
  const base = { n: pairs.length, clusters: k, resamples };
  if (k === 0) return { difference: Number.NaN, lower: Number.NaN, upper: Number.NaN, ...base };
  const difference = diff.reduce((s, v) => s + v, 0) / pairs.length;
  const random = seededRandom(options.seed ?? 0);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let d = 0;
    let n = 0;
    for (let i = 0; i < k; i++) {
      const j = Math.floor(random() * k);
      d += diff[j] as number;
      n += count[j] as number;
    }
    stats[r] = d / n;
  }
  stats.sort();
  const alpha = (1 - level) / 2;
  return { difference, lower: sortedPercentile(stats, alpha), upper: sortedPercentile(stats, 1 - alpha), ...base };
}
