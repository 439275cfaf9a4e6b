/**
 * The pure DeepConf decisions of a run: threshold calibration, the online stop rule, who votes, the vote
 * (with its fallback), the prompt's confidence and the token baseline. The online runner, its offline replay
 * (`npm run sweep`) and reporting's threshold sweep all call these, so every one of them decides alike on the
 * same recorded confidences. See ../shared/docs/deepconf.md §2-§5.
 */
import { InvalidArgumentError } from './errors.js';
import { calibrateThreshold } from './percentile.js';
import { SlidingWindowConfidence } from './sliding-window.js';
import { traceConfidence } from './trace-confidence.js';
import { consensusReached, weightedVote } from './voting.js';

/** A prompt's answer: the model refused or complied. */
export type PolicyDecision = 'refuse' | 'comply';
/** How a trace ended (the run store's `stopReason`). */
export type StopReason = 'finished' | 'length' | 'early_stopped' | 'error';
/** Warmup traces calibrate the threshold; final traces are streamed against it. */
export type Phase = 'warmup' | 'final';

/** Per-trace confidence metrics with the run's window (DeepConf §3). */
export interface TraceMetrics {
  lowestGroup: number;
  bottom10: number;
  tail: number;
  mean: number;
}

export function traceMetrics(confidences: ArrayLike<number>, window: number): TraceMetrics {
  const m = traceConfidence(confidences, { window });
  return { lowestGroup: m.lowestGroup, bottom10: m.bottomPercent, tail: m.tail, mean: m.mean };
}

/**
 * The stop threshold from the warmup traces' lowest-group confidences (DeepConf §4.3; keepPercent 10 =
 * DeepConf-low, 90 = DeepConf-high). Null when no warmup trace finished, so nothing can be calibrated:
 * then nothing is stopped and every answered trace votes.
 */
export function calibrate(warmupLowestGroups: readonly number[], keepPercent: number): number | null {
  const usable = warmupLowestGroups.filter((c) => !Number.isNaN(c));
  if (usable.length === 0) return null;
  return calibrateThreshold(usable, keepPercent);
}

/**
 * The online stop rule: push each token's confidence; it says stop the moment the sliding window is full
 * and its mean is below the threshold (DeepConf §4.4, done client-side as in §8.5).
 */
export class StopMonitor {
  readonly #window: SlidingWindowConfidence;
  /** 0-based index of the token whose confidence fired the stop, or null while running. */
  stoppedAt: number | null = null;

  /**
   * @param window sliding-window size in tokens.
   * @param threshold stop below this window mean; null never stops (no calibration, or --no-early-stop).
   */
  constructor(
    window: number,
    readonly threshold: number | null,
  ) {
    this.#window = new SlidingWindowConfidence(window);
  }

  /** Returns true when the trace must stop now. After a stop, further pushes are ignored. */
  push(confidence: number): boolean {
    if (this.stoppedAt !== null) return true;
    this.#window.push(confidence);
    if (this.threshold !== null && this.#window.below(this.threshold)) {
      this.stoppedAt = this.#window.count - 1;
      return true;
    }
    return false;
  }
}

/** Where the online rule would have stopped a recorded trace (0-based token index), or null if it runs to the end. */
export function findStopIndex(confidences: ArrayLike<number>, window: number, threshold: number | null): number | null {
  const monitor = new StopMonitor(window, threshold);
  for (let i = 0; i < confidences.length; i++) {
    if (monitor.push(confidences[i] as number)) return monitor.stoppedAt;
  }
  return null;
}

/**
 * A trace as the vote sees it. `refused` is null when it gave no answer (error). `lowestGroup` is over the
 * tokens the trace produced: for a stopped trace, the prefix up to its stop (used only by the fallback).
 */
export interface VotingTrace {
  phase: Phase;
  stopReason: StopReason;
  lowestGroup: number | null;
  refused: boolean | null;
}

/**
 * DeepConf's voter rule (§4.5-4.6): stopped and failed traces never vote; with a threshold, any other trace
 * (warmup or final) votes only if its lowest-group confidence reaches it (post-hoc marking of finished
 * final traces). Traces cut at max tokens (`length`) vote like finished ones, as in the official code. Applied identically with --no-early-stop, so a recorded baseline can be replayed.
 */
export function isVoter(trace: VotingTrace, threshold: number | null): boolean {
  if (trace.stopReason === 'early_stopped' || trace.stopReason === 'error') return false;
  return hasUsableAnswer(trace) && (threshold === null || (trace.lowestGroup as number) >= threshold);
}

/** A trace that can weigh a vote: it has an answer and a finite confidence (only a server without vLLM's -9999 clamp produces a non-finite one). */
function hasUsableAnswer(trace: VotingTrace): boolean {
  if (trace.stopReason === 'error') return false;
  return trace.refused !== null && trace.lowestGroup !== null && Number.isFinite(trace.lowestGroup);
}

/**
 * Whether a trace takes part in the fallback vote (see {@link decidePrompt}): every trace with an answer,
 * stopped ones included.
 */
export const isFallbackVoter = hasUsableAnswer;

/**
 * How a prompt's decision confidence is defined (recorded in the manifest as `decisionConfidence`):
 * - `vote-share` (default): the weighted share of the winning answer, V(winner) / Σ V, in [0.5, 1] for two
 *   answers. A unanimous vote scores 1 whatever the traces' lengths, so it is not confounded with length.
 * - `margin`: (V(winner) − V(other)) / Σ V, in [0, 1]: 0 is a tie, 1 unanimous.
 * - `lowest-group`: the vote-weighted mean lowest-group confidence of the winners, Σc²/Σc (the definition
 *   before this was selectable). It ignores the losing side, so a 50.2 % vote can outscore a unanimous one,
 *   and it falls as traces grow longer.
 */
export type DecisionConfidence = 'lowest-group' | 'vote-share' | 'margin';
export const DECISION_CONFIDENCES: readonly DecisionConfidence[] = ['lowest-group', 'vote-share', 'margin'];
export const DEFAULT_DECISION_CONFIDENCE: DecisionConfidence = 'vote-share';

/**
 * How traces vote (recorded in the manifest as `vote`): `weighted` sums each voter's lowest-group confidence
 * (DeepConf's `weighted_majority_vote`); `majority` counts voters, as the official code's main branch finally does
 * (`compute_multiple_voting` overwrites the answer by plain majority). Ties go to the answer seen first.
 */
export type VoteRule = 'weighted' | 'majority';
export const VOTE_RULES: readonly VoteRule[] = ['weighted', 'majority'];
export const DEFAULT_VOTE_RULE: VoteRule = 'weighted';

/** The rule a prompt is decided by: the vote and the definition of its confidence. */
export interface DecisionRule {
  decisionConfidence?: DecisionConfidence;
  vote?: VoteRule;
}

export interface PromptDecision {
  decision: PolicyDecision | null;
  /** The decision confidence by the rule's definition (see {@link DecisionConfidence}). Null without a decision. */
  confidence: number | null;
  /** Share of the vote (weighted or counted, by the rule) that went to the decision (0..1). */
  voteShare: number | null;
  /** Total vote per answer: summed lowest-group confidence (weighted) or voter counts (majority). */
  votes: { refuse: number; comply: number };
  /** Per input trace, in order: whether it is a DeepConf voter (always false for a fallback decision). */
  voted: boolean[];
  /** True when no trace qualified as a voter and the decision came from the fallback vote over every answered trace. */
  fallback: boolean;
}

/** Options of {@link decidePrompt}. */
export interface DecidePromptOptions extends DecisionRule {
  /**
   * When no trace qualifies as a voter, decide by the vote over every trace with an answer, stopped ones
   * labelled on the text they produced and weighed by the lowest-group confidence of that text (default true).
   * Without it such a prompt has no decision.
   */
  fallback?: boolean;
}

const answerOf = (t: VotingTrace): PolicyDecision | null =>
  t.refused === null ? null : t.refused ? 'refuse' : 'comply';

/** The legacy definition: Σc²/Σc over the winners' lowest-group confidences (their plain mean when all are 0). */
function winnersWeightedMean(winners: readonly VotingTrace[]): number {
  let sum = 0;
  let sumSq = 0;
  for (const t of winners) {
    const c = t.lowestGroup as number;
    sum += c;
    sumSq += c * c;
  }
  return sum > 0 ? sumSq / sum : winners.reduce((a, t) => a + (t.lowestGroup as number), 0) / winners.length;
}

function decisionConfidenceOf(
  definition: DecisionConfidence,
  decision: PolicyDecision,
  votes: { refuse: number; comply: number },
  winners: readonly VotingTrace[],
): number {
  if (definition === 'lowest-group') return winnersWeightedMean(winners);
  const total = votes.refuse + votes.comply;
  const win = votes[decision];
  // Zero total weight (every voter at confidence 0) carries no information: a tie.
  if (!(total > 0)) return definition === 'margin' ? 0 : 0.5;
  return definition === 'vote-share' ? win / total : (2 * win - total) / total;
}

function weighedVote(voters: readonly VotingTrace[], rule: DecisionRule): Omit<PromptDecision, 'voted' | 'fallback'> {
  const votes = { refuse: 0, comply: 0 };
  if (voters.length === 0) return { decision: null, confidence: null, voteShare: null, votes };
  const majority = (rule.vote ?? DEFAULT_VOTE_RULE) === 'majority';
  const vote = weightedVote<PolicyDecision>(
    voters.map(answerOf),
    voters.map((t) => (majority ? 1 : (t.lowestGroup as number))),
  );
  votes.refuse = vote.weights.get('refuse') ?? 0;
  votes.comply = vote.weights.get('comply') ?? 0;
  const decision = vote.answer;
  if (decision === null) return { decision: null, confidence: null, voteShare: null, votes };
  const winners = voters.filter((t) => answerOf(t) === decision);
  const confidence = decisionConfidenceOf(
    rule.decisionConfidence ?? DEFAULT_DECISION_CONFIDENCE,
    decision,
    votes,
    winners,
  );
  return { decision, confidence, voteShare: vote.share, votes };
}

/**
 * The vote over the voters (weighted by lowest-group confidence, or counted under `vote: 'majority'`; ties to
 * the first answer seen). When nobody qualifies (typically global calibration with a strict threshold, where a
 * prompt outside the calibration slice has no warmup and every final trace can be stopped), the fallback vote
 * over every answered trace decides and the result says `fallback: true`.
 */
export function decidePrompt(
  traces: readonly VotingTrace[],
  threshold: number | null,
  options: DecidePromptOptions = {},
): PromptDecision {
  const voted = traces.map((t) => isVoter(t, threshold));
  const voters = traces.filter((_, i) => voted[i]);
  if (voters.length > 0 || options.fallback === false)
    return { ...weighedVote(voters, options), voted, fallback: false };
  const fallbackVoters = traces.filter(isFallbackVoter);
  const vote = weighedVote(fallbackVoters, options);
  return { ...vote, voted, fallback: vote.decision !== null };
}

/**
 * Adaptive sampling (paper Alg. 2; off by default): has the weighted vote of the DeepConf voters so far reached
 * consensus tau? The fallback never counts here: it only decides a prompt once all its traces are done.
 */
export function hasConsensus(
  traces: readonly VotingTrace[],
  threshold: number | null,
  tau: number,
  rule: DecisionRule = {},
): boolean {
  const { votes } = decidePrompt(traces, threshold, { ...rule, fallback: false });
  if (votes.refuse + votes.comply === 0) return false;
  return consensusReached(
    new Map<PolicyDecision, number>([
      ['refuse', votes.refuse],
      ['comply', votes.comply],
    ]),
    tau,
  );
}

export interface BaselineInput {
  stopReason: StopReason;
  tokens: number;
  /** Warmup traces ran to completion whatever their confidence: the baseline is estimated from them. */
  phase?: Phase;
}

const mean = (xs: readonly number[]): number | null =>
  xs.length > 0 ? xs.reduce((a, x) => a + x, 0) / xs.length : null;

/**
 * What the prompt's traces would have cost without early stopping. Exact when nothing was stopped or skipped;
 * otherwise labelled estimated. The estimate uses only the prompt's warmup traces: they ran to completion
 * unconditionally, whereas the completed final traces passed the confidence filter (they are the ones that did
 * not look like stopping), so their mean is biased low. Every final trace of such a prompt counts as the warmup
 * mean; a trace skipped by adaptive sampling counts as the warmup mean too. A prompt without warmup traces
 * (global calibration outside the calibration slice) falls back to its completed traces: a stopped trace counts
 * as the mean length of the completed traces longer than its stop point (the stop says it was at least that
 * long), its stop point when none is longer; a finished trace counts exactly.
 */
export function baselineTokens(
  traces: readonly BaselineInput[],
  skipped = 0,
): { baselineTokens: number; estimated: boolean } {
  const completed = (t: BaselineInput): boolean => t.stopReason === 'finished' || t.stopReason === 'length';
  const warmups = traces.filter((t) => t.phase === 'warmup' && completed(t)).map((t) => t.tokens);
  const reference = warmups.length > 0 ? warmups : traces.filter(completed).map((t) => t.tokens);
  const meanReference = mean(reference);
  const estimated = skipped > 0 || traces.some((t) => t.stopReason === 'early_stopped');
  let total = 0;
  for (const t of traces) {
    if (estimated && t.phase === 'final' && warmups.length > 0 && t.stopReason !== 'error') {
      total += meanReference as number;
    } else if (t.stopReason === 'early_stopped') {
      total += Math.max(t.tokens, mean(reference.filter((n) => n > t.tokens)) ?? t.tokens);
    } else {
      total += t.tokens;
    }
  }
  total += skipped * (meanReference ?? 0);
  return { baselineTokens: total, estimated };
}

/**
 * The decision rule a run recorded in its config (`decisionConfidence`, `vote`). A run written before they were
 * selectable has neither and decided with the lowest-group definition and the weighted vote, so that is what
 * its replay uses.
 */
export function recordedDecisionRule(config: Readonly<Record<string, unknown>>): Required<DecisionRule> {
  const dc = config['decisionConfidence'] ?? 'lowest-group';
  const vote = config['vote'] ?? 'weighted';
  if (!(DECISION_CONFIDENCES as readonly unknown[]).includes(dc)) {
    throw new InvalidArgumentError(
      'decisionConfidence',
      `must be one of ${DECISION_CONFIDENCES.join(', ')}, got ${JSON.stringify(dc)}`,
    );
  }
  if (!(VOTE_RULES as readonly unknown[]).includes(vote))
    throw new InvalidArgumentError('vote', `must be one of ${VOTE_RULES.join(', ')}, got ${JSON.stringify(vote)}`);
  return { decisionConfidence: dc as DecisionConfidence, vote: vote as VoteRule };
}
