export {
  CONCURRENCY_PER_ENDPOINT,
  DEFAULT_TOP_LOGPROBS,
  ExperimentJobFailure,
  runExperimentJob,
  type ExperimentJobIo,
  type ExperimentJobOutcome,
  type JobJudge,
  type RunDescription,
} from './experiment-job.js';
export {
  emulatorBanner,
  planConfidence,
  serverLogprobsLimit,
  type ConfidencePlan,
  type ServerChoice,
} from './server-plan.js';
export {
  collapseRepeats,
  describeMessages,
  runHealth,
  tallyErrors,
  type ErrorTally,
  type PromptCounts,
} from './run-health.js';
export { defaultOutput, runSecrets, runSettings, resumeCommand } from './config-mapping.js';
export {
  SOLE_CLIENT_CAVEAT,
  parseGenerationTokens,
  startServerTokenMeter,
  type MeterIo,
  type ServerTokenMeter,
} from './server-tokens.js';
