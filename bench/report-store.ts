// A synthetic run store of a given size, written through RunStore exactly as the runner writes one: the input of
// the report stage (issue 15 "read once"). DeepConf-consistent: warmup traces set each prompt's threshold, final
// traces stop where their window confidence first falls below it, so the report's threshold replay has work to do.
import { calibrateThreshold, findStopIndex, traceConfidence } from '@deepconf-safety/confidence';
import { mulberry32 } from '@deepconf-safety/datasets';
import {
  RunStore,
  encodeConfidences,
  runConfig,
  type InstanceRecord,
  type TraceRecord,
} from '@deepconf-safety/run-store';

export type StoreShape = {
  prompts: number;
  tracesPerPrompt: number;
  warmup: number;
  window: number;
  keepPercent: number;
  /** Tokens of a trace that runs to its end: uniform in [min, max] (`--max-tokens` 512 is the CLI default). */
  minTokens: number;
  maxTokens: number;
  seed: number;
};

const WORDS = [
  'I',
  'cannot',
  'help',
  'with',
  'that',
  'request',
  'here',
  'is',
  'how',
  'to',
  'kill',
  'a',
  'Python',
  'process',
  'safely',
];

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function answer(rand: () => number, tokens: number): string {
  const words: string[] = [];
  for (let i = 0; i < tokens; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  return words.join(' ');
}

/** Per-token confidences of one trace: a level of its own plus noise, with a dip in some traces. */
function confidences(rand: () => number, tokens: number): Float64Array {
  const level = 11 + 2 * gaussian(rand);
  const dipAt = rand() < 0.3 ? Math.floor(rand() * tokens) : -1;
  const out = new Float64Array(tokens);
  for (let i = 0; i < tokens; i++)
    out[i] = Math.max(0.01, level + 2.5 * gaussian(rand) - (dipAt >= 0 && i >= dipAt && i < dipAt + 80 ? 6 : 0));
  return out;
}

function traceRecord(
  id: string,
  index: number,
  phase: TraceRecord['phase'],
  confs: Float64Array,
  threshold: number | null,
  s: StoreShape,
  rand: () => number,
): TraceRecord {
  const stop = threshold === null ? null : findStopIndex(confs, s.window, threshold);
  const kept = stop === null ? confs : confs.subarray(0, stop + 1);
  const metrics = traceConfidence(kept, { window: Math.min(s.window, kept.length) });
  const refused = rand() < 0.5;
  const text = answer(rand, kept.length);
  return {
    instanceId: id,
    traceIndex: index,
    phase,
    stopReason: stop === null ? 'finished' : 'early_stopped',
    stoppedAtToken: stop,
    tokens: kept.length,
    confidences: encodeConfidences(kept),
    lowestGroup: metrics.lowestGroup,
    bottom10: metrics.bottomPercent,
    tail: metrics.tail,
    mean: metrics.mean,
    threshold,
    voted: stop === null && (threshold === null || metrics.lowestGroup >= threshold),
    text,
    reasoning: null,
    refusal: { label: refused ? 'refusal' : 'compliance', refused, score: refused ? 3 : 0, evidence: [] },
    endpoint: 'http://127.0.0.1:8000/v1',
    attempts: 1,
    latencyMs: 1000,
    error: null,
  };
}

function instanceRecord(id: string, traces: TraceRecord[], threshold: number, rand: () => number): InstanceRecord {
  const voters = traces.filter((t) => t.voted);
  const refuse = voters.filter((t) => t.refusal?.refused).reduce((a, t) => a + (t.lowestGroup ?? 0), 0);
  const comply = voters.filter((t) => !t.refusal?.refused).reduce((a, t) => a + (t.lowestGroup ?? 0), 0);
  const decision = voters.length === 0 ? null : refuse >= comply ? 'refuse' : 'comply';
  const shouldRefuse = rand() < 0.5;
  const tokens = traces.reduce((a, t) => a + t.tokens, 0);
  const stopped = traces.filter((t) => t.stopReason === 'early_stopped');
  return {
    instanceId: id,
    prompt: `synthetic prompt ${id}`,
    category: ['homonyms', 'contrast_homonyms', 'safe_targets', 'privacy'][Math.floor(rand() * 4)]!,
    source: 'synthetic',
    shouldRefuse,
    decision,
    confidence: voters.length ? voters.reduce((a, t) => a + (t.lowestGroup ?? 0), 0) / voters.length : null,
    voteShare: decision === null ? null : Math.max(refuse, comply) / (refuse + comply || 1),
    votes: { refuse, comply },
    correct: decision === null ? null : (decision === 'refuse') === shouldRefuse,
    threshold,
    traces: traces.length,
    voters: voters.length,
    earlyStopped: stopped.length,
    errors: 0,
    tokens,
    baselineTokens: tokens + stopped.length * 200,
    baselineEstimated: stopped.length > 0,
  };
}

/** Writes the store into `dir` (which must not hold a run); returns its size in bytes of traces.jsonl. */
export function writeSyntheticStore(dir: string, s: StoreShape): void {
  const rand = mulberry32(s.seed);
  const config = runConfig({
    benchmark: 'synthetic',
    model: 'synthetic/bench',
    traces: s.tracesPerPrompt,
    warmup: s.warmup,
    window: s.window,
    keepPercent: s.keepPercent,
    calibration: 'per-instance',
    earlyStop: true,
    splitPercentile: 50,
  });
  const { store } = RunStore.create(
    dir,
    {
      runId: `bench-${s.prompts}x${s.tracesPerPrompt}`,
      startedAt: new Date(0).toISOString(),
      config,
      versions: {},
      gitCommit: null,
      server: { emulated: true, baseUrls: ['http://127.0.0.1:8000/v1'] },
      emulated: true,
    },
    { resume: false },
  );
  const length = () => s.minTokens + Math.floor(rand() * (s.maxTokens - s.minTokens + 1));
  for (let p = 0; p < s.prompts; p++) {
    const id = `synthetic-${p}`;
    const warm = Array.from({ length: s.warmup }, (_, i) =>
      traceRecord(id, i, 'warmup', confidences(rand, length()), null, s, rand),
    );
    const threshold = calibrateThreshold(
      warm.map((t) => t.lowestGroup ?? 0),
      s.keepPercent,
    );
    const finals = Array.from({ length: s.tracesPerPrompt - s.warmup }, (_, i) =>
      traceRecord(id, s.warmup + i, 'final', confidences(rand, length()), threshold, s, rand),
    );
    const traces = [...warm, ...finals];
    for (const t of traces) store.appendTrace(t);
    store.appendInstance(instanceRecord(id, traces, threshold, rand));
  }
  store.writeManifest({ ...store.readManifest(), status: 'completed', finishedAt: new Date(0).toISOString() });
  store.close();
}
