export {
  ConfidenceError,
  EmptyInputError,
  InvalidArgumentError,
  InvalidValueError,
  LengthMismatchError,
  isConfidenceError,
} from './errors.js';
export {
  tokenConfidence,
  tokenConfidences,
  exactTopK,
  exactTopKConfidence,
  exactTopKValuesConfidence,
} from './token-confidence.js';
export type { TopLogprob, TraceTokenConfidences } from './token-confidence.js';
export { SlidingWindowConfidence } from './sliding-window.js';
export { groupConfidences, lowestGroupConfidence } from './group-confidence.js';
export {
  traceConfidence,
  bottomWindowConfidence,
  minWindowConfidence,
  tailConfidence,
} from './trace-confidence.js';
export type { TraceConfidence, TraceConfidenceOptions } from './trace-confidence.js';
export { calibrateThreshold, filterTopConfidence, numpyPercentile } from './percentile.js';
export { weightedVote, consensusReached } from './voting.js';
export type { WeightedVoteResult } from './voting.js';
export { roundHalfEven3 } from './rounding.js';
export { numpyMean } from './numpy-sum.js';
export {
  StopMonitor,
  DECISION_CONFIDENCES,
  DEFAULT_DECISION_CONFIDENCE,
  DEFAULT_VOTE_RULE,
  VOTE_RULES,
  baselineTokens,
  calibrate,
  decidePrompt,
  findStopIndex,
  hasConsensus,
  isFallbackVoter,
  isVoter,
  recordedDecisionRule,
  traceMetrics,
} from './policy.js';
export type {
  BaselineInput,
  DecidePromptOptions,
  DecisionConfidence,
  DecisionRule,
  VoteRule,
  Phase,
  PolicyDecision,
  PromptDecision,
  StopReason,
  TraceMetrics,
  VotingTrace,
} from './policy.js';
export { replayPolicy } from './policy-replay.js';
export { ProfileStore, type ProfiledConfidences, type StopProfile } from './stop-profile.js';
export type {
  PolicyBlockedTrace,
  PolicyReplay,
  PolicyReplayPrompt,
  PolicyReplaySetting,
  PolicyReplayTrace,
  PolicyReplayedPrompt,
  PolicyReplayedTrace,
} from './policy-replay.js';
