export * from './schema.js';
export * from './errors.js';
export { RunStore, writeJsonAtomic, traceKey, type ManifestInit, type CreateResult } from './run-store.js';
export * from './run-config.js';
export * from './provenance.js';
export { migrateManifest, type MigrationResult } from './migrate.js';
export { RunLock, LOCK_FILE, processIsAlive, type LockEnv } from './lock.js';
export { prepareRunDirectory } from './directory.js';
export { redactUrl, urlSecrets } from './redact-url.js';
export { JsonlAppender, readJsonl, type JsonlReadResult } from './jsonl.js';
export { encodeConfidences, decodeConfidences } from './confidences-codec.js';
export { assignBucket, percentile } from './buckets.js';
export { canonicalJson, configHash, diffConfig } from './config-hash.js';
export {
  JUDGMENTS_FILE,
  JudgeStyleSchema,
  JudgmentRecordSchema,
  JudgmentStore,
  judgmentContentHash,
  judgmentKey,
  readJudgments,
  type JudgmentRecord,
} from './judgments.js';
export {
  readRunContents,
  jsonlLines,
  type StoredTrace,
  type TraceFields,
  type StoredPrompt,
  type RunContents,
  type ReadOptions,
} from './read-once.js';
export * from './study.js';
