export { ReplayInputError } from './errors.js';
export {
  loadRecording,
  type RecordedInstance,
  type RecordedSettings,
  type RecordedTrace,
  type Recording,
} from './recording.js';
export {
  REPLAYED_FIELDS,
  checkReplaySetting,
  compareWithRecording,
  replayRecordedSettings,
  replayRun,
  type BlockedTrace,
  type ReplayMismatch,
  type ReplayResult,
  type ReplaySetting,
  type ReplayedTrace,
} from './replay-run.js';
export {
  offlineVariants,
  offlineVotes,
  type OfflineMetric,
  type OfflineVariant,
  type OfflineVariantResult,
  type OfflineVotesOptions,
} from './offline-votes.js';
export {
  paretoFront,
  sweepRecording,
  type RecordedCheck,
  type SweepBucket,
  type SweepGrid,
  type SweepResult,
  type SweepRow,
} from './sweep.js';
