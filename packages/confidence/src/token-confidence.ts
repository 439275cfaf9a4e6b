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
export function tokenConfidences(positions: ArrayLike<ArrayLike<number> | null | undefined>): TraceTokenConfidences {
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
 * {sampled} ∪ top-K keyed by token id, in insertion order [sampled, top1, top2, ...] (a duplicate id
 * keeps its first slot): K values when the sampled token is in the top K, K + 1 (the sampled one
 * included) when it is not. The chat API lists exactly that order and cuts it at `top_logprobs`
 * entries; with K + 1 requested the list always holds the true top K and the sampled token. So the set
 * is the sampled value plus the K − 1 largest others when the sampled token ranks inside the top K,
 * else plus the K largest others. "Inside" means fewer than K others are strictly larger: a tie with
 * the K-th largest counts as inside, as vLLM's dict would hold K entries when the sampled id is among
 * the top-K ids (its order among equal logits is arbitrary, so the values alone cannot settle it, and
 * this choice yields exactly the true top-K values). Among equal others the later one is dropped,
 * which on a real list is the last entry. Kept values stay in list order: that is the dict's order,
 * so numpy's pairwise sum over them, and hence the rounded confidence, is bit-identical to the
 * official np.mean. Longer lists (more than K + 1 requested) follow the same rule.
 */

/**
 * DeepConf's reference set for one position, from the chat API's `top_logprobs` of K + 1 (or more)
 * requested entries, sampled token first: the sampled value plus the K − 1 largest others if the
 * sampled token ranks within the top K (a tie with the K-th largest counts as within), else plus the
 * K largest others. Values keep the list's order (the order of vLLM's dict, so the official mean is
 * reproduced bit for bit). An empty list (a position without logprob data) gives `[]`; skip that position.
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
  let othersAbove = 0;
  for (let i = 1; i < length; i++) if ((values[i] as number) > sampled) othersAbove++;
  const keepOthers = othersAbove < k ? k - 1 : k;
  // Stable sort: among equal others the earlier one ranks higher, so the later one is dropped.
  const ranked = Array.from({ length: length - 1 }, (_, i) => i + 1).sort(
    (a, b) => (values[b] as number) - (values[a] as number),
  );
  const kept = ranked.slice(0, keepOthers).sort((a, b) => a - b);
  return [sampled, ...kept.map((i) => values[i] as number)];
}

/** Reused by exactTopKConfidence so the per-token path allocates nothing (calls cannot interleave). */
let scratch = new Float64Array(64);

/**
 * `tokenConfidence(exactTopK(topLogprobs, k))`, bit for bit, without allocating when exactly K + 1
 * entries are given (the client's per-token path). Throws EmptyInputError for an empty list.
 */
export function exactTopKConfidence(topLogprobs: ArrayLike<TopLogprob>, k: number): number {
  assertK(k);
  const length = topLogprobs.length;
  if (length === 0) {
    throw new EmptyInputError(
      'topLogprobs',
      'a position without logprob data has no confidence; skip it as the official code does',
    );
  }
  assertLength(length, k);
  if (length > k + 1) return tokenConfidence(exactTopK(topLogprobs, k));
  if (values.length < length) values = new Float64Array(length);
  // Validation stays out of the loop: a throwing helper there keeps V8 from inlining (5x slower).
  let bad = false;
  for (let i = 0; i < length; i++) {
    const value = (topLogprobs[i] as TopLogprob).logprob;
    if (typeof value !== 'number' || Number.isNaN(value)) bad = true;
    values[i] = value;
  }
  if (bad) {
    for (let i = 0; i < length; i++) checkedLogprob(topLogprobs, i);
  }
  return exactTopKValuesConfidence(values, k, length);
}

/** Reused by exactTopKConfidence to hand its values on (calls cannot interleave). */
let values = new Float64Array(64);

/**
 * {@link exactTopKConfidence} over bare logprobs, the first `length` of `logprobs` in list order
 * (element 0 = sampled): for callers that read the numbers without building an object per
 * alternative. Allocation-free for exactly K + 1 values.
 *
 * @throws InvalidValueError for a NaN (a JSON parser cannot produce one; the check is cheap).
 */
export function exactTopKValuesConfidence(
  logprobs: ArrayLike<number>,
  k: number,
  length: number = logprobs.length,
): number {
  assertK(k);
  if (length === 0) {
    throw new EmptyInputError(
      'topLogprobs',
      'a position without logprob data has no confidence; skip it as the official code does',
    );
  }
  assertLength(length, k);
  if (length > k + 1) {
    return tokenConfidence(
      exactTopK(
        Array.from({ length }, (_, i) => ({ logprob: logprobs[i] as number })),
        k,
      ),
    );
  }
  if (scratch.length < length) scratch = new Float64Array(length);
  const sampled = logprobs[0] as number;
  let smallestOther = Infinity;
  let smallestAt = -1;
  let othersAbove = 0;
  let bad = Number.isNaN(sampled);
  for (let i = 1; i < length; i++) {
    const value = logprobs[i] as number;
    if (Number.isNaN(value)) bad = true;
    // <= picks the last of equal minima, as exactTopK's stable ranking does.
    if (value <= smallestOther) {
      smallestOther = value;
      smallestAt = i;
    }
    if (value > sampled) othersAbove++;
  }
  if (bad) {
    for (let i = 0; i < length; i++) {
      if (Number.isNaN(logprobs[i])) throw new InvalidValueError('topLogprobs', i, 'logprob must be a number, got NaN');
    }
  }
  // Sampled in the top K (ties count as in) => the set drops the smallest of the others.
  const skip = othersAbove < k ? smallestAt : -1;
  let n = 0;
  for (let i = 0; i < length; i++) if (i !== skip) scratch[n++] = logprobs[i] as number;
  return -(numpySum(scratch, 0, n) / n);
}
