import { z } from 'zod';
import { ProvenanceSchema, ServerTokensSchema } from './provenance.js';
import { RunConfigSchema, RunDerivedSchema } from './run-config.js';

/** Version of results.json (`schemaVersion` there); bumped whenever a reader of an older one would misread a newer one. */
export const RUN_STORE_SCHEMA_VERSION = 1;

/**
 * Version of the run directory's format (`formatVersion` in manifest.json; a manifest without one is format 1).
 * Readers migrate older formats on read (see migrate.ts and the README); a newer one is refused.
 */
export const RUN_FORMAT_VERSION = 2;

export const FILES = {
  manifest: 'manifest.json',
  traces: 'traces.jsonl',
  instances: 'instances.jsonl',
  results: 'results.json',
} as const;

export const RefusalLabelSchema = z.enum(['compliance', 'refusal', 'partial_refusal']);

export const RefusalVerdictSchema = z.looseObject({
  label: RefusalLabelSchema,
  refused: z.boolean(),
  score: z.number(),
  truncated: z.boolean().optional(),
  evidence: z.array(
    z.looseObject({ pattern: z.string(), category: z.string(), span: z.tuple([z.number(), z.number()]) }),
  ),
});

/**
 * One sampled response. `stopReason`:
 * - `finished`: the model ended it (EOS / stop string);
 * - `length`: it hit max tokens;
 * - `early_stopped`: the client aborted it at `stoppedAtToken` because the window confidence fell below the threshold;
 * - `error`: every attempt failed (`error` says why); `--retry-errors` redoes these.
 */
export const TraceRecordSchema = z.looseObject({
  instanceId: z.string(),
  traceIndex: z.number().int().nonnegative(),
  phase: z.enum(['warmup', 'final']),
  stopReason: z.enum(['finished', 'length', 'early_stopped', 'error']),
  stoppedAtToken: z.number().int().nullable(),
  tokens: z.number().int().nonnegative(),
  /** Per-token confidences, little-endian Float64 in base64: exact (replays must reproduce online decisions) and compact. */
  confidences: z.string(),
  lowestGroup: z.number().nullable(),
  bottom10: z.number().nullable(),
  tail: z.number().nullable(),
  mean: z.number().nullable(),
  /** The threshold this trace was streamed against (null for warmup traces and --no-early-stop). */
  threshold: z.number().nullable(),
  /** Whether the trace takes part in the vote (stopped and below-threshold traces do not, as in DeepConf). */
  voted: z.boolean(),
  text: z.string(),
  reasoning: z.string().nullable(),
  refusal: RefusalVerdictSchema.nullable(),
  endpoint: z.string().nullable(),
  attempts: z.number().int().positive(),
  latencyMs: z.number().nullable(),
  error: z.string().nullable(),
  /** The label the vote used when it was not the detector's (`--refusal-source judge|judge-on-ambiguous`); absent = detector. */
  voteLabel: z.object({ refused: z.boolean(), source: z.enum(['detector', 'judge']) }).optional(),
});
export type TraceRecord = z.infer<typeof TraceRecordSchema>;

export const DecisionSchema = z.enum(['refuse', 'comply']);
export type Decision = z.infer<typeof DecisionSchema>;

/** One prompt's outcome, appended once all its traces are done. */
export const InstanceRecordSchema = z.looseObject({
  instanceId: z.string(),
  prompt: z.string(),
  category: z.string(),
  source: z.string(),
  shouldRefuse: z.boolean().nullable(),
  decision: DecisionSchema.nullable(),
  /** Confidence of the decision: vote-weighted mean lowest-group confidence of the voters for it. */
  confidence: z.number().nullable(),
  /** Share of the confidence-weighted vote that went to the decision (0..1). */
  voteShare: z.number().nullable(),
  votes: z.object({ refuse: z.number(), comply: z.number() }),
  correct: z.boolean().nullable(),
  threshold: z.number().nullable(),
  traces: z.number().int().nonnegative(),
  voters: z.number().int().nonnegative(),
  earlyStopped: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  baselineTokens: z.number().nonnegative(),
  baselineEstimated: z.boolean(),
  /** Final traces adaptive sampling (--consensus) never launched, the vote being decided (always written; absent = 0). */
  skipped: z.number().int().nonnegative().optional(),
  /** True when no trace qualified as a voter and every answered trace (stopped ones included) decided; absent in older runs. */
  fallback: z.boolean().optional(),
});
export type InstanceRecord = z.infer<typeof InstanceRecordSchema>;

export const BucketNameSchema = z.enum([
  'confident_refusal',
  'uncertain_refusal',
  'confident_compliance',
  'uncertain_compliance',
]);
export type BucketName = z.infer<typeof BucketNameSchema>;

export const ServerInfoSchema = z.looseObject({
  emulated: z.boolean(),
  /** Base URLs only: never an API key. */
  baseUrls: z.array(z.string()),
  probe: z.unknown().optional(),
});

export const ManifestSchema = z.looseObject({
  formatVersion: z.literal(RUN_FORMAT_VERSION),
  runId: z.string(),
  status: z.enum(['running', 'completed', 'interrupted', 'failed']),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  /**
   * The run's configuration as it ran: every option, defaults filled in, `numInstances` and `topLogprobs` resolved
   * to the values used. Secrets are never part of it (URLs are stored redacted).
   */
  config: RunConfigSchema,
  derived: RunDerivedSchema.default({ instancesHash: null, server: null, confidenceMode: null }),
  /** Hash of {@link runIdentity}: equal hashes, same results. */
  configHash: z.string(),
  versions: z.record(z.string(), z.string()),
  gitCommit: z.string().nullable(),
  server: ServerInfoSchema,
  emulated: z.boolean(),
  cost: z.looseObject({ usd: z.number(), hourlyPriceUsd: z.number(), uptimeHours: z.number() }).nullable().optional(),
  /** Where the benchmark was read from, and how many of its rows were unusable. */
  benchmarkSource: z.string().optional(),
  skippedRows: z.number().int().nonnegative().optional(),
  /** Dataset hashes, served model, vLLM version and arguments, git state, DeepConf scale; absent in older runs. */
  provenance: ProvenanceSchema.optional(),
  /** Tokens the server generated beyond the client's count (after aborts); absent in older runs and unfinished ones. */
  serverTokens: ServerTokensSchema.optional(),
  /** Why the run failed (status `failed`). */
  error: z.string().optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const BucketSummarySchema = z.looseObject({
  count: z.number(),
  correct: z.number(),
  accuracy: z.number().nullable(),
});

export const ResultsSchema = z.looseObject({
  schemaVersion: z.number().int(),
  emulated: z.boolean(),
  overall: z.looseObject({
    instances: z.number(),
    decided: z.number(),
    total_tokens: z.number(),
    baseline_tokens: z.number(),
    baseline_estimated: z.boolean(),
    token_savings_percent: z.number().nullable(),
    avg_tokens_per_instance: z.number().nullable(),
    accuracy: z.number().nullable(),
    early_stop_rate: z.number().nullable(),
    errors: z.number(),
  }),
  buckets: z.looseObject({
    /** Prompt confidences at or above this are "confident"; it is the `splitPercentile`-th percentile across the run. */
    splitPercentile: z.number(),
    splitConfidence: z.number().nullable(),
    confident_refusal: BucketSummarySchema,
    uncertain_refusal: BucketSummarySchema,
    confident_compliance: BucketSummarySchema,
    uncertain_compliance: BucketSummarySchema,
  }),
  per_category: z.record(
    z.string(),
    z.looseObject({
      instances: z.number(),
      accuracy: z.number().nullable(),
      total_tokens: z.number(),
      baseline_tokens: z.number(),
      token_savings_percent: z.number().nullable(),
    }),
  ),
  /** The hypothesis analysis (primary test first, secondary Holm-adjusted), added by the report; absent before one ran. */
  analysis: z.record(z.string(), z.unknown()).optional(),
});
export type Results = z.infer<typeof ResultsSchema>;
