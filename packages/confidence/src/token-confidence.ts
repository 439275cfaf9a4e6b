import { EmptyInputError, InvalidArgumentError, InvalidValueError } from './errors.js';
import { numpySum } from './numpy-sum.js';

/**
 * DeepConf token confidence C_i: minus the mean of the logprobs given (the official
 * `compute_confidence`, without its 3-decimal rounding; see README).
 *
 * Pass every value of the position's reference set (see {@link exactTopK}). The sum follows
 * numpy's pairwise order, so `roundHalfEven3(tokenConfidence(x))` equals the official value bit for
 * bit. −Infinity gives +Infinity and NaN gives NaN, as in the official code. Allocation-free.
 *
 * @throws EmptyInputError for an empty list: the official code skips such positions
 *   (use {@link tokenConfidences} to do the same for a whole trace).
 */
export function tokenConfidence(logprobs: ArrayLike<number>): number {
  const n = logprobs.length;
  if (n === 0) {
    throw new EmptyInputError(
      'logprobs',
      'a position without logprobs has no confidence; the official code skips it (tokenConfidences does the same)',
    );
  }
  return -(numpySum(logprobs, 0, n) / n);
}

/** Result of {@link tokenConfidences}. */
export interface TraceTokenConfidences {
  /** One confidence per position that had logprobs, in order. */
  confidences: number[];
  /** 0-based indices of positions with no logprobs (skipped, as the official code does). */
  skippedPositions: number[];
}

/**
 * Token confidences of a whole trace, one list of logprobs per generated position, as the official
 * `compute_confidence` does: empty or missing positions are skipped (and reported in
 * `skippedPositions`), so `confidences` can be shorter than the trace.
 */
export function tokenConfidences(
  positions: ArrayLike<ArrayLike<number> | null | undefined>,
): TraceTokenConfidences {
  const confidences: number[] = [];
  const skippedPositions: number[] = [];
  for (let i = 0; i < positions.length; i++) {
    const position = positions[i];
    if (position === null || position === undefined || position.length === 0) skippedPositions.push(i);
    else confidences.push(tokenConfidence(position));
  }
  return { confidences, skippedPositions };
}

/** One entry of vLLM's `top_logprobs` (chat) list; only `logprob` is read. */
export interface TopLogprob {
  logprob: number;
}

function assertK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new InvalidArgumentError('k', `must be a positive integer (DeepConf uses 20), got ${String(k)}`);
  }
}

function checkedLogprob(topLogprobs: ArrayLike<TopLogprob>, i: number): number {
  const value = topLogprobs[i]?.logprob;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidValueError('topLogprobs', i, `logprob must be a number, got ${String(value)}`);
  }
  return value;
}

function assertLength(length: number, k: number): void {
  if (length < k + 1) {
    throw new InvalidArgumentError(
      'topLogprobs',
      `has ${length} entries but DeepConf's reference set needs k + 1 = ${k + 1}: request top_logprobs: ${k + 1} ` +
        `(the server's --max-logprobs must allow it)`,
    );
  }
}

/*
 * Why this set. The official confidence averages every value of vLLM's per-position dict, which is
 * {sampled} ∪ top-K keyed by token id: K values when the sampled token is in the top K, K + 1 (the
 * sampled one included) when it is not. The chat API lists the sampled token first and then the
 * top tokens in rank order, unsorted, and cuts the list at `top_logprobs` entries; with K + 1
 * requested entries the list always contains the true top K and the sampled token, so: sort
 * descending; if the sampled value reaches the K-th largest, the set is the K largest values,
 * otherwise all K + 1. A tie between the sampled value and the K-th largest cannot be resolved from
 * the values (vLLM's top-k order among equal logits is arbitrary); we count the sampled token as
 * inside, which yields exactly the true top-K values, the set the paper and the online processor use.
 * Longer lists (more than K + 1 requested) follow the same rule; entries past them are ignored.
 */

/**
 * DeepConf's reference set for one position, from the chat API's `top_logprobs` of K + 1 requested
 * entries (sampled token first, unsorted): the K largest logprobs if the sampled token is among
 * them, else those K plus the sampled one. Values are returned sorted, largest first.
 * An empty list (a position without logprob data) gives `[]`; skip that position.
 *
 * @param topLogprobs the entry's `top_logprobs`, exactly as the server sent it (element 0 = sampled).
 * @param k DeepConf's K (20 in the paper and the official code).
 */
export function exactTopK(topLogprobs: ArrayLike<TopLogprob>, k: number): number[] {
  assertK(k);
  const length = topLogprobs.length;
  if (length === 0) return [];
  assertLength(length, k);
  const values: number[] = new Array<number>(length);
  for (let i = 0; i < length; i++) values[i] = checkedLogprob(topLogprobs, i);
  const sampled = values[0] as number;
  values.sort((a, b) => b - a);
  const kth = values[k - 1] as number;
  return sampled >= kth ? values.slice(0, k) : [...values.slice(0, k), sampled];
}

/**
 * `tokenConfidence(exactTopK(topLogprobs, k))` without allocating when exactly K + 1 entries are given
 * (the client's per-token path). Agrees with the composed form to within floating-point rounding
 * of the sum order (~1e-15). Throws EmptyInputError for an empty list.
 */
export function exactTopKConfidence(topLogprobs: ArrayLike<TopLogprob>, k: number): number {
  assertK(k);
  const length = topLogprobs.length;
  if (length === 0) {
    throw new EmptyInputError('topLogprobs', 'a position without logprob data has no confidence; skip it as the official code does');
  }
  assertLength(length, k);
  if (length > k + 1) return tokenConfidence(exactTopK(topLogprobs, k));
  // Validation stays out of the loop: a throwing helper there keeps V8 from inlining (5x slower).
  const sampled = (topLogprobs[0] as TopLogprob).logprob;
  let sum = sampled;
  let smallestOther = Infinity;
  let othersAbove = 0;
  let nonNumber = typeof sampled !== 'number';
  for (let i = 1; i < length; i++) {
    const value = (topLogprobs[i] as TopLogprob).logprob;
    if (typeof value !== 'number') nonNumber = true;
    sum += value;
    if (value < smallestOther) smallestOther = value;
    if (value > sampled) othersAbove++;
  }
  if (nonNumber || !Number.isFinite(sum)) {
    // Names a bad entry, or handles ±Infinity on the general path (subtracting one would give NaN).
    for (let i = 0; i < length; i++) checkedLogprob(topLogprobs, i);
    return tokenConfidence(exactTopK(topLogprobs, k));
  }
  // Sampled in the top K (ties count as in) => the set drops the smallest of the K + 1 values,
  // which is then one of the others.
  if (othersAbove < k) return -((sum - smallestOther) / k);
  return -(sum / (k + 1));
}
