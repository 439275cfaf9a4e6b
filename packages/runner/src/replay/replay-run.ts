import type { InstanceRecord, Results, TraceRecord } from '@deepconf-safety/run-store';
import { baselineTokens, calibrate, decidePrompt, findStopIndex, traceMetrics, type Phase, type StopReason, type VotingTrace } from '../deepconf-policy.js';
import { validateSettings, type RunSettings } from '../run-experiment.js';
import { summarizeRun } from '../summarize.js';
import type { RecordedInstance, RecordedTrace, Recording } from './recording.js';

/** One DeepConf setting to replay. */
export interface ReplaySetting {
  /** Sliding-window size in tokens (stop rule and lowest-group confidence). */
  window: number;
  /** DeepConf η: share of warmup confidence kept above the threshold (10 = DeepConf-low, 90 = DeepConf-high). */
  keepPercent: number;
  /** Warmup traces per prompt (per calibration prompt under global calibration). */
  warmup: number;
  /** False replays the vote without stopping anything (default true). */
  earlyStop?: boolean;
}

export interface ReplayedTrace {
  instanceId: string;
  traceIndex: number;
  phase: Phase;
  stopReason: StopReason;
  /** Index into the recorded confidences at which the replay stops the trace, or null. */
  stoppedAt: number | null;
  tokens: number;
  /** Lowest-group confidence with the replay's window (null for stopped and failed traces: they never vote). */
  lowestGroup: number | null;
  voted: boolean;
}

/** A trace the replay would need more of than was recorded. */
export interface BlockedTrace {
  instanceId: string;
  traceIndex: number;
  reason: 'warmup-truncated' | 'stop-beyond-recording';
}

export type ReplayResult =
  | { computable: true; setting: Required<ReplaySetting>; instances: InstanceRecord[]; traces: ReplayedTrace[]; results: Results }
  | { computable: false; setting: Required<ReplaySetting>; blocked: BlockedTrace[] };

const COMPLETED = new Set<StopReason>(['finished', 'length']);

/** Per-trace lowest-group confidence per window, computed once however many settings share the window. */
const lowestCache = new WeakMap<RecordedTrace, Map<number, number>>();
function lowestGroupAt(trace: RecordedTrace, window: number): number | null {
  if (trace.record.stopReason === 'error' || trace.record.lowestGroup === null) return null;
  let byWindow = lowestCache.get(trace);
  if (!byWindow) lowestCache.set(trace, (byWindow = new Map()));
  let value = byWindow.get(window);
  if (value === undefined) byWindow.set(window, (value = traceMetrics(trace.confidences, window).lowestGroup));
  return value;
}

const refusedOf = (r: TraceRecord): boolean | null => (r.stopReason === 'error' || r.refusal === null ? null : r.refusal.refused);

/** The runner's own validation, so a replay accepts exactly the settings an online run would. */
export function checkReplaySetting(recording: Recording, setting: ReplaySetting): Required<ReplaySetting> {
  const s = recording.settings;
  const full: Required<ReplaySetting> = { earlyStop: true, ...setting };
  const run: RunSettings = {
    traces: s.traces,
    warmup: full.warmup,
    window: full.window,
    keepPercent: full.keepPercent,
    calibration: s.calibration,
    calibrationInstances: Math.max(1, recording.instances.filter((i) => i.calibration).length),
    earlyStop: full.earlyStop,
    consensusTau: s.consensusTau,
    seed: 0,
    splitPercentile: s.splitPercentile,
    request: { maxTokens: 1, temperature: 0, topP: 1, topK: 0, topLogprobs: 0, thinking: false },
  };
  validateSettings(run);
  return full;
}

const warmupCountOf = (recording: Recording, inst: RecordedInstance, warmup: number): number =>
  recording.settings.calibration === 'global' && !inst.calibration ? 0 : warmup;

function calibrationLows(recording: Recording, inst: RecordedInstance, setting: Required<ReplaySetting>): number[] {
  const count = warmupCountOf(recording, inst, setting.warmup);
  return inst.traces
    .filter((t) => t.record.traceIndex < count && COMPLETED.has(t.record.stopReason))
    .flatMap((t) => {
      const low = lowestGroupAt(t, setting.window);
      return low === null ? [] : [low];
    });
}

/**
 * Replays a recorded run under another DeepConf setting, exactly as the online runner would have run it on the
 * same traces: the first `warmup` traces calibrate the threshold (per prompt, or once from the calibration
 * prompts under global calibration), every other trace is walked through the online stop rule (stopped at
 * token i = i + 1 tokens) and the confidence-weighted vote decides. Stopped traces never vote, so their
 * truncated text is never needed. Not computable when the setting would need tokens the recording never
 * generated: a trace the run stopped that the replay would let run further, or one it stopped that the replay
 * uses for calibration.
 *
 * The baseline is the recorded run's own (exact for a --no-early-stop recording), so every setting replayed
 * from one recording is compared with the same cost. Adaptive sampling (--consensus) is not re-simulated: the
 * replay votes over the traces that were recorded.
 */
export function replayRun(recording: Recording, setting: ReplaySetting): ReplayResult {
  const full = checkReplaySetting(recording, setting);
  const global = recording.settings.calibration === 'global';
  const globalThreshold = global
    ? calibrate(recording.instances.filter((i) => i.calibration).flatMap((i) => calibrationLows(recording, i, full)), full.keepPercent)
    : null;

  const blocked: BlockedTrace[] = [];
  const instances: InstanceRecord[] = [];
  const traces: ReplayedTrace[] = [];
  for (const inst of recording.instances) {
    const warmupCount = warmupCountOf(recording, inst, full.warmup);
    const threshold = global ? globalThreshold : calibrate(calibrationLows(recording, inst, full), full.keepPercent);
    const streamThreshold = full.earlyStop ? threshold : null;
    const replayed: (ReplayedTrace & VotingTrace)[] = [];
    for (const t of inst.traces) {
      const r = t.record;
      const phase: Phase = r.traceIndex < warmupCount ? 'warmup' : 'final';
      const base = { instanceId: r.instanceId, traceIndex: r.traceIndex, phase, refused: refusedOf(r), voted: false };
      if (r.stopReason === 'error') {
        replayed.push({ ...base, stopReason: 'error', stoppedAt: null, tokens: r.tokens, lowestGroup: null });
        continue;
      }
      const wasStopped = r.stopReason === 'early_stopped';
      const stop = phase === 'final' ? findStopIndex(t.confidences, full.window, streamThreshold) : null;
      if (stop === null) {
        if (wasStopped) {
          blocked.push({ instanceId: r.instanceId, traceIndex: r.traceIndex, reason: phase === 'warmup' ? 'warmup-truncated' : 'stop-beyond-recording' });
          continue;
        }
        replayed.push({ ...base, stopReason: r.stopReason, stoppedAt: null, tokens: r.tokens, lowestGroup: lowestGroupAt(t, full.window) });
      } else {
        // The same stop the run made costs what the run recorded; an earlier one costs the tokens up to it.
        const tokens = wasStopped && stop === t.confidences.length - 1 ? r.tokens : stop + 1;
        replayed.push({ ...base, stopReason: 'early_stopped', stoppedAt: stop, tokens, lowestGroup: null });
      }
    }
    if (blocked.length > 0) continue;

    const vote = decidePrompt(replayed, threshold);
    replayed.forEach((t, i) => (t.voted = vote.voted[i] === true));
    const tokens = replayed.reduce((a, t) => a + t.tokens, 0);
    const rec = inst.record;
    const skipped = typeof rec['skipped'] === 'number' ? rec['skipped'] : 0;
    const recorded = inst.traces.map((t) => t.record);
    const baseline = recording.settings.earlyStop
      ? baselineTokens(recorded, skipped)
      : { baselineTokens: recorded.reduce((a, t) => a + t.tokens, 0), estimated: false };
    instances.push({
      ...rec,
      decision: vote.decision,
      confidence: vote.confidence,
      voteShare: vote.voteShare,
      votes: vote.votes,
      correct: rec.shouldRefuse === null || vote.decision === null ? null : (vote.decision === 'refuse') === rec.shouldRefuse,
      threshold,
      traces: replayed.length,
      voters: vote.voted.filter(Boolean).length,
      earlyStopped: replayed.filter((t) => t.stopReason === 'early_stopped').length,
      errors: replayed.filter((t) => t.stopReason === 'error').length,
      tokens,
      baselineTokens: baseline.baselineTokens,
      baselineEstimated: baseline.estimated,
    });
    for (const { refused: _refused, ...t } of replayed) traces.push(t);
  }
  if (blocked.length > 0) return { computable: false, setting: full, blocked };
  const results = summarizeRun(instances, { emulated: recording.emulated, splitPercentile: recording.settings.splitPercentile });
  return { computable: true, setting: full, instances, traces, results };
}

/** The replay of the settings the run itself used. */
export function replayRecordedSettings(recording: Recording): ReplayResult {
  const s = recording.settings;
  return replayRun(recording, { window: s.window, keepPercent: s.keepPercent, warmup: s.warmup, earlyStop: s.earlyStop });
}

/** Fields of an instance record the replay recomputes; the others are copied from the recording. */
export const REPLAYED_FIELDS = [
  'decision',
  'confidence',
  'voteShare',
  'votes',
  'correct',
  'threshold',
  'traces',
  'voters',
  'earlyStopped',
  'errors',
  'tokens',
  'baselineTokens',
  'baselineEstimated',
] as const satisfies readonly (keyof InstanceRecord)[];

export interface ReplayMismatch {
  instanceId: string;
  field: (typeof REPLAYED_FIELDS)[number];
  recorded: unknown;
  replayed: unknown;
}

/**
 * Differences between the recorded instance records and a replay of them (empty = the replay reproduces the run).
 * Numbers are compared exactly: the replay runs the online code on the exact recorded confidences.
 */
export function compareWithRecording(recording: Recording, replay: Extract<ReplayResult, { computable: true }>): ReplayMismatch[] {
  const replayed = new Map(replay.instances.map((r) => [r.instanceId, r]));
  const out: ReplayMismatch[] = [];
  for (const { record } of recording.instances) {
    const r = replayed.get(record.instanceId);
    for (const field of REPLAYED_FIELDS) {
      const a = record[field];
      const b = r?.[field];
      if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ instanceId: record.instanceId, field, recorded: a, replayed: b });
    }
  }
  return out;
}
