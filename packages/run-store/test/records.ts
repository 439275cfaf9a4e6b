// Records for the store's tests: one valid trace and one valid prompt, each test overriding what it is about.
import {
  encodeConfidences,
  runConfig,
  type InstanceRecord,
  type RunConfigInput,
  type TraceRecord,
} from '@deepconf-safety/run-store';

/** The manifest fields RunStore.create takes, for an emulated run with this configuration. */
export const manifestInit = (config: RunConfigInput = {}, baseUrls: string[] = []) => ({
  runId: 'r1',
  startedAt: new Date(0).toISOString(),
  config: runConfig(config),
  versions: { node: process.version },
  gitCommit: null,
  server: { emulated: true, baseUrls },
  emulated: true,
});

/** A finished warmup trace of three tokens that voted. */
export const traceRecord = (instanceId: string, traceIndex: number, extra: Partial<TraceRecord> = {}): TraceRecord => ({
  instanceId,
  traceIndex,
  phase: 'warmup',
  stopReason: 'finished',
  stoppedAtToken: null,
  tokens: 3,
  confidences: encodeConfidences([1, 2, 3]),
  lowestGroup: 2,
  bottom10: 2,
  tail: 2,
  mean: 2,
  threshold: null,
  voted: true,
  text: 'hi',
  reasoning: null,
  refusal: null,
  endpoint: null,
  attempts: 1,
  latencyMs: 1,
  error: null,
  ...extra,
});

/** A prompt that should be refused and was, by one trace's vote. */
export const instanceRecord = (instanceId: string, extra: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId,
  prompt: 'p',
  category: 'c',
  source: 's',
  shouldRefuse: true,
  decision: 'refuse',
  confidence: 5,
  voteShare: 1,
  votes: { refuse: 5, comply: 0 },
  correct: true,
  threshold: 1,
  traces: 1,
  voters: 1,
  earlyStopped: 0,
  errors: 0,
  tokens: 3,
  baselineTokens: 3,
  baselineEstimated: false,
  ...extra,
});
