/**
 * The DeepConf policy lives in @deepconf-safety/confidence (one implementation for the runner, its replay and
 * reporting); re-exported here so the runner's public API keeps its names.
 */
export {
  StopMonitor,
  baselineTokens,
  calibrate,
  decidePrompt,
  findStopIndex,
  hasConsensus,
  isVoter,
  traceMetrics,
} from '@deepconf-safety/confidence';
export type { BaselineInput, Phase, PromptDecision, StopReason, TraceMetrics, VotingTrace } from '@deepconf-safety/confidence';
