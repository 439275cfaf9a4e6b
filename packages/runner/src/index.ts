export { RunnerError, RunnerConfigError, RunInterruptedError, ServerFailureError, isRunnerError, redactSecrets } from './errors.js';
export type { TraceRequest, TraceResult, TokenInfo, TraceHooks, TraceSource } from './trace-source.js';
export {
  StopMonitor,
  baselineTokens,
  calibrate,
  decidePrompt,
  findStopIndex,
  hasConsensus,
  isVoter,
  traceMetrics,
  type BaselineInput,
  type Phase,
  type PromptDecision,
  type StopReason,
  type TraceMetrics,
  type VotingTrace,
} from './deepconf-policy.js';
export { summarizeRun } from './summarize.js';
export { traceSeed } from './seeds.js';
export {
  runExperiment,
  validateSettings,
  type InstanceInput,
  type RunExperimentOptions,
  type RunOutcome,
  type RunProgress,
  type RunSettings,
} from './run-experiment.js';
export * from './replay/index.js';
