import { EmptyInputError, InvalidValueError } from './errors.js';
import { assertPercent } from './validate.js';

function checkedSorted(values: ArrayLike<number>, argument: string): Float64Array {
  const sorted = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || Number.isNaN(v)) {
      throw new InvalidValueError(argument, i, `must be a number, got ${String(v)}; drop or fix that trace first`);
    }
    sorted[i] = v;
  }
  return sorted.sort();
}

/**
 * numpy `_lerp`, including its switch to interpolating from the upper end when t ≥ 0.5. The first
 * line only matters for infinite values, where numpy returns NaN (inf − inf, inf · 0); for finite
 * values it returns what numpy's formula gives anyway.
 */
function lerp(a: number, b: number, t: number): number {
  if (t === 0 || a === b) return a;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** `np.percentile(sorted, q)` with the default 'linear' method, on ascending-sorted values. */
function percentileOfSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * (q / 100);
  if (virtual <= 0) return sorted[0] as number;
  if (virtual >= n - 1) return sorted[n - 1] as number;
  const below = Math.floor(virtual);
  return lerp(sorted[below] as number, sorted[below + 1] as number, virtual - below);
}

/**
 * `np.percentile(values, q)` (method 'linear': position q/100 · (n − 1) on the sorted values).
 *
 * @throws EmptyInputError for no values, InvalidValueError for a NaN (numpy would return NaN).
 */
export function numpyPercentile(values: ArrayLike<number>, q: number, argument = 'values'): number {
  assertPercent(q, 'q');
  if (values.length === 0) throw new EmptyInputError(argument, 'a percentile needs at least one value');
  return percentileOfSorted(checkedSorted(values, argument), q);
}

/**
 * The online DeepConf threshold (`wrapper.py`: `np.percentile(min_confs, 100 - confidence_percentile)`).
 *
 * @param warmupLowestGroups `lowestGroup` of each warmup trace.
 * @param keepPercent η, the share of traces to keep: 10 = DeepConf-low (90th percentile),
 *   90 = DeepConf-high (10th percentile). Not the percentile itself (the reproduce branch's meaning).
 */
export function calibrateThreshold(warmupLowestGroups: ArrayLike<number>, keepPercent: number): number {
  assertPercent(keepPercent, 'keepPercent');
  if (warmupLowestGroups.length === 0) {
    throw new EmptyInputError('warmupLowestGroups', 'calibration needs at least one completed warmup trace');
  }
  return percentileOfSorted(checkedSorted(warmupLowestGroups, 'warmupLowestGroups'), 100 - keepPercent);
}

/**
 * Official `filter_top_confidence`: indices (ascending) of the traces whose confidence is at least the
 * (100 − keepPercent)th percentile. Ties at the cut are kept, so more than keepPercent % may survive.
 *
 * @param keepPercent η as a percentage (10 keeps the top 10 %).
 */
export function filterTopConfidence(confs: ArrayLike<number>, keepPercent: number): number[] {
  assertPercent(keepPercent, 'keepPercent');
  if (confs.length === 0) return [];
  // Same float expression as the official `(1 - top_percent) * 100`, so ties at the cut agree.
  const threshold = percentileOfSorted(checkedSorted(confs, 'confs'), (1 - keepPercent / 100) * 100);
  const kept: number[] = [];
  for (let i = 0; i < confs.length; i++) if ((confs[i] as number) >= threshold) kept.push(i);
  return kept;
}
