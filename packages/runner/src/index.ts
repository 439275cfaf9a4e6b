export {
  RunnerError,
  RunnerConfigError,
  RunInterruptedError,
  ServerFailureError,
  TraceThreadError,
  isRunnerError,
  redactSecrets,
} from './errors.js';
export type { TraceRequest, TraceResult, TokenInfo, TraceHooks, TraceSource, StopRule } from './trace-source.js';
export { ThreadedTraceSource, type ThreadedSourceOptions, type ThreadClientOptions } from './threaded-source.js';
// The DeepConf policy lives in @deepconf-safety/confidence (one implementation for the runner, its replay and
// reporting); re-exported so the runner's API keeps these names.
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
} from '@deepconf-safety/confidence';
export { summarizeRun, summarizeRecords, finalTally, type FinalTally } from './summarize.js';
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
export {
  createJudgeClient,
  judgeEndpointEmulated,
  type JudgeClient,
  type JudgeClientOptions,
} from './judge/judge-client.js';
export {
  REFUSAL_SOURCES,
  checkJudgeSettings,
  createTraceJudge,
  isAmbiguous,
  judgeOnce,
  type JudgeIdentity,
  type JudgeTraceInput,
  type RefusalSource,
  type TraceJudge,
  type TraceJudgeOptions,
  type VoteLabel,
} from './judge/trace-judge.js';
export {
  judgeInputs,
  judgeRun,
  type JudgeRunOptions,
  type JudgeRunOutcome,
  type JudgeRunProgress,
} from './judge/judge-run.js';
export * from './study/index.js';
export * from './job/index.js';
