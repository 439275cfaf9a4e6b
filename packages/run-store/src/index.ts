export * from './schema.js';
export * from './errors.js';
export { RunStore, writeJsonAtomic, traceKey, type ManifestInit } from './run-store.js';
export { JsonlAppender, readJsonl, type JsonlReadResult } from './jsonl.js';
export { encodeConfidences, decodeConfidences } from './confidences-codec.js';
export { assignBucket, percentile } from './buckets.js';
export { canonicalJson, configHash, diffConfig } from './config-hash.js';
export { JUDGMENTS_FILE, JudgeStyleSchema, JudgmentRecordSchema, JudgmentStore, judgmentContentHash, judgmentKey, readJudgments, type JudgmentRecord } from './judgments.js';
export { readRunContents, jsonlLines, type StoredTrace, type TraceFields, type StoredPrompt, type RunContents, type ReadOptions } from './read-once.js';
