import { InvalidArgumentError, InvalidValueError, LengthMismatchError } from './errors.js';

/** Result of {@link weightedVote}. */
export interface WeightedVoteResult<A> {
  /** The answer with the largest total weight (ties: the one seen first); null when no answer voted. */
  answer: A | null;
  /** Total weight per answer, in first-seen order. */
  weights: Map<A, number>;
  /** β = weight of `answer` / total weight (0 when there is no weight): the paper's consensus ratio. */
  share: number;
}

/**
 * Official `weighted_majority_vote`: sums each trace's weight per answer, skipping null (and
 * undefined) answers; the heaviest answer wins and ties go to the answer seen first.
 * Answers are compared as Map keys (SameValueZero), not via `str()` as the official code does, so
 * `1` and `"1"` stay apart; pass strings to get the official merging.
 *
 * @param weights one finite, non-negative weight per answer (DeepConf uses the trace's lowestGroup).
 */
export function weightedVote<A>(answers: readonly (A | null)[], weights: ArrayLike<number>): WeightedVoteResult<A> {
  if (answers.length !== weights.length) {
    throw new LengthMismatchError('answers', answers.length, 'weights', weights.length);
  }
  const totals = new Map<A, number>();
  let total = 0;
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i];
    if (answer === null || answer === undefined) continue;
    const weight = weights[i];
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new InvalidValueError('weights', i, `must be a finite number >= 0, got ${String(weight)}`);
    }
    totals.set(answer, (totals.get(answer) ?? 0) + weight);
    total += weight;
  }
  let best: A | null = null;
  let bestWeight = -Infinity;
  for (const [answer, weight] of totals) {
    if (weight > bestWeight) {
      best = answer;
      bestWeight = weight;
    }
  }
  return { answer: best, weights: totals, share: best === null || total === 0 ? 0 : bestWeight / total };
}

/**
 * The paper's adaptive-sampling stop (Alg. 2; not in the official code): true when the leading
 * answer holds at least `tau` of the total vote weight, β = V(â) / Σ V(a) ≥ τ. No votes (or zero
 * total weight) is never consensus.
 *
 * @param votes total weight per answer, e.g. `weightedVote(...).weights`.
 * @param tau τ in (0, 1]; the paper uses 0.95.
 */
export function consensusReached(votes: ReadonlyMap<unknown, number>, tau = 0.95): boolean {
  if (typeof tau !== 'number' || !(tau > 0 && tau <= 1)) {
    throw new InvalidArgumentError('tau', `must be a share in (0, 1] (the paper uses 0.95), got ${String(tau)}`);
  }
  let total = 0;
  let max = 0;
  let i = 0;
  for (const [answer, weight] of votes) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new InvalidValueError(
        'votes',
        i,
        `weight of answer ${String(answer)} must be a finite number >= 0, got ${String(weight)}`,
      );
    }
    total += weight;
    if (weight > max) max = weight;
    i++;
  }
  return total > 0 && max / total >= tau;
}
