import { lowestGroupConfidence } from './group-confidence.js';
import { numpyMean } from './numpy-sum.js';
import { assertPercent, assertWindow } from './validate.js';

/** Options of {@link traceConfidence}. */
export interface TraceConfidenceOptions {
  /** W, the group size in tokens, for `lowestGroup` and `bottomPercent`. */
  window: number;
  /** Number of final tokens averaged for `tail`. Default: `window` (the official code hard-codes 2048, its default W). */
  tail?: number;
  /** Share of the lowest window means averaged for `bottomPercent`, as a percentage (10 = bottom 10 %). Default 10; 0 gives the lowest window. */
  bottomPercent?: number;
}

/** Trace-level confidences. All are 0 for an empty trace, as in the official code. */
export interface TraceConfidence {
  /** Lowest group confidence, the official `min_conf` (drives the online threshold and vote weights). */
  lowestGroup: number;
  /** Mean of the lowest `bottomPercent` % of window means (official `calculate_bottom_window_confidence`). */
  bottomPercent: number;
  /** Mean of the last `tail` tokens (official `calculate_tail_confidence`). */
  tail: number;
  /** Mean of all tokens (official `calculate_mean_confidence`). */
  mean: number;
}

/** The official trace metrics (`deepconf/utils.py`) over one trace's token confidences. */
export function traceConfidence(tokenConfs: ArrayLike<number>, options: TraceConfidenceOptions): TraceConfidence {
  const { window, tail = window, bottomPercent = 10 } = options;
  assertWindow(window);
  assertWindow(tail, 'tail');
  assertPercent(bottomPercent, 'bottomPercent');
  const n = tokenConfs.length;
  return {
    lowestGroup: lowestGroupConfidence(tokenConfs, window),
    bottomPercent: bottomWindowConfidence(tokenConfs, window, bottomPercent),
    tail: numpyMean(tokenConfs, Math.max(0, n - tail), n),
    mean: numpyMean(tokenConfs, 0, n),
  };
}

/** Official `calculate_bottom_window_confidence(..., bottom_percent=-1)`: the lowest window mean. */
export function minWindowConfidence(tokenConfs: ArrayLike<number>, window: number): number {
  return bottomWindowConfidence(tokenConfs, window, 0);
}

/**
 * Official `calculate_bottom_window_confidence`, reproduced operation for operation: a trace shorter
 * than the window gives its mean; otherwise the window means come from a running sum (seeded with
 * Python's sequential sum), and the result is the mean of the ⌊count · p/100⌋ (at least 1) smallest,
 * or the Python `min` when that is 1.
 *
 * Reproducing the running sum keeps its one oddity: once a non-finite confidence (from a −inf logprob)
 * has left the window, every later window mean is NaN (inf − inf). Only the Python engine path can
 * produce such values; vLLM's server clamps −inf to −9999.
 */
export function bottomWindowConfidence(tokenConfs: ArrayLike<number>, window: number, bottomPercent: number): number {
  assertWindow(window);
  assertPercent(bottomPercent, 'bottomPercent');
  const n = tokenConfs.length;
  if (n === 0) return 0;
  if (n < window) return numpyMean(tokenConfs, 0, n);
  const count = n - window + 1;
  const means = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < window; i++) sum += tokenConfs[i] as number;
  means[0] = sum / window;
  for (let i = 1; i < count; i++) {
    sum = sum - (tokenConfs[i - 1] as number) + (tokenConfs[i + window - 1] as number);
    means[i] = sum / window;
  }
  // The official code multiplies by the fraction; p / 100 reproduces 0.1 etc. exactly.
  const bottom = Math.max(1, Math.trunc(count * (bottomPercent / 100)));
  if (bottom === 1) return pythonMin(means);
  // np.partition puts NaN last; a full sort gives the same set of `bottom` smallest values.
  means.sort();
  return numpyMean(means, 0, bottom);
}

function pythonMin(values: Float64Array): number {
  let min = values[0] as number;
  for (let i = 1; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
  }
  return min;
}

/** Mean of the last `tail` confidences (official `calculate_tail_confidence`); 0 when empty. */
export function tailConfidence(tokenConfs: ArrayLike<number>, tail: number): number {
  assertWindow(tail, 'tail');
  const n = tokenConfs.length;
  return numpyMean(tokenConfs, Math.max(0, n - tail), n);
}
