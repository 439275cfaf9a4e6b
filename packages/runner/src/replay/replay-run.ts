import { replayPolicy, type PolicyBlockedTrace, type PolicyReplayPrompt } from '@deepconf-safety/confidence';
import type { InstanceRecord, Results, TraceFields } from '@deepconf-safety/run-store';
import type { PolicyReplayedTrace } from '@deepconf-safety/confidence';
import { validateSettings, type RunSettings } from '../run-experiment.js';
import { summarizeRun } from '../summarize.js';
import type { Recording } from './recording.js';

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
  /**
   * `exact` (default): a fallback vote that needs the label of a trace stopped elsewhere than recorded makes the
   * setting not computable. `recorded`: label it on its recorded text instead (counted in `approximateLabels`).
   */
  fallbackLabels?: 'exact' | 'recorded';
}

export type ReplayedTrace = PolicyReplayedTrace & { instanceId: string };

/** A trace the replay would need more of than was recorded (reasons: see `PolicyBlockedTrace` in @deepconf-safety/confidence). */
export interface BlockedTrace {
  instanceId: string;
  traceIndex: number;
  reason: PolicyBlockedTrace['reason'];
}

export type ReplayResult =
  | {
      computable: true;
      setting: Required<ReplaySetting>;
      instances: InstanceRecord[];
      traces: ReplayedTrace[];
      results: Results;
      /** Fallback voters labelled on their recorded text (only with `fallbackLabels: 'recorded'`). */
      approximateLabels: number;
    }
  | { computable: false; setting: Required<ReplaySetting>; blocked: BlockedTrace[] };

const refusedOf = (r: TraceFields): boolean | null =>
  r.stopReason === 'error' || r.refusal === null ? null : (r.voteLabel?.refused ?? r.refusal.refused);

/** The recording as the shared policy replay reads it, built once per recording (its per-window caches key on these objects). */
const promptsCache = new WeakMap<Recording, PolicyReplayPrompt[]>();
function policyPrompts(recording: Recording): PolicyReplayPrompt[] {
  let prompts = promptsCache.get(recording);
  if (!prompts) {
    prompts = recording.instances.map((inst) => ({
      id: inst.record.instanceId,
      calibration: inst.calibration,
      skipped: typeof inst.record['skipped'] === 'number' ? inst.record['skipped'] : 0,
      traces: inst.traces.map((t) => ({
        traceIndex: t.record.traceIndex,
        phase: t.record.phase,
        stopReason: t.record.stopReason,
        confidences: t.confidences,
        tokens: t.record.tokens,
        lowestGroup: t.record.lowestGroup,
        refused: refusedOf(t.record),
      })),
    }));
    promptsCache.set(recording, prompts);
  }
  return prompts;
}

/** The runner's own validation, so a replay accepts exactly the settings an online run would. */
export function checkReplaySetting(recording: Recording, setting: ReplaySetting): Required<ReplaySetting> {
  const s = recording.settings;
  const full: Required<ReplaySetting> = { earlyStop: true, fallbackLabels: 'exact', ...setting };
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

/**
 * Replays a recorded run under another DeepConf setting, exactly as the online runner would have run it on the
 * same traces (`replayPolicy` of @deepconf-safety/confidence: calibration, the online stop rule, the vote and
 * its fallback). Not computable when the setting would need tokens the recording never generated: a trace the
 * run stopped that the replay would let run further, one it stopped that the replay uses for calibration, or a
 * fallback vote that needs the label of a text the run never produced.
 *
 * The baseline is the recorded run's own (exact for a --no-early-stop recording), so every setting replayed
 * from one recording is compared with the same cost. Adaptive sampling (--consensus) is not re-simulated: the
 * replay votes over the traces that were recorded.
 */
export function replayRun(recording: Recording, setting: ReplaySetting): ReplayResult {
  const full = checkReplaySetting(recording, setting);
  const replay = replayPolicy(policyPrompts(recording), {
    ...full,
    calibration: recording.settings.calibration,
    recordedEarlyStop: recording.settings.earlyStop,
    decisionConfidence: recording.settings.decisionConfidence,
    vote: recording.settings.vote,
  });
  if (!replay.computable) {
    return {
      computable: false,
      setting: full,
      blocked: replay.blocked.map((b) => ({ instanceId: b.id, traceIndex: b.traceIndex, reason: b.reason })),
    };
  }
  const instances: InstanceRecord[] = [];
  const traces: ReplayedTrace[] = [];
  replay.prompts.forEach((p, i) => {
    const rec = (recording.instances[i] as Recording['instances'][number]).record;
    instances.push({
      ...rec,
      decision: p.decision,
      confidence: p.confidence,
      voteShare: p.voteShare,
      votes: p.votes,
      correct: rec.shouldRefuse === null || p.decision === null ? null : (p.decision === 'refuse') === rec.shouldRefuse,
      threshold: p.threshold,
      traces: p.traces.length,
      voters: p.voted.filter(Boolean).length,
      earlyStopped: p.earlyStopped,
      errors: p.errors,
      tokens: p.tokens,
      baselineTokens: p.baselineTokens,
      baselineEstimated: p.baselineEstimated,
      fallback: p.fallback,
    });
    for (const t of p.traces) traces.push({ instanceId: p.id, ...t });
  });
  const results = summarizeRun(instances, {
    emulated: recording.emulated,
    splitPercentile: recording.settings.splitPercentile,
    traces,
  });
  const approximateLabels = replay.prompts.reduce((a, p) => a + p.approximateLabels, 0);
  return { computable: true, setting: full, instances, traces, results, approximateLabels };
}

/** The replay of the settings the run itself used. */
export function replayRecordedSettings(recording: Recording): ReplayResult {
  const s = recording.settings;
  return replayRun(recording, {
    window: s.window,
    keepPercent: s.keepPercent,
    warmup: s.warmup,
    earlyStop: s.earlyStop,
  });
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
  'fallback',
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
export function compareWithRecording(
  recording: Recording,
  replay: Extract<ReplayResult, { computable: true }>,
): ReplayMismatch[] {
  const replayed = new Map(replay.instances.map((r) => [r.instanceId, r]));
  const out: ReplayMismatch[] = [];
  for (const { record } of recording.instances) {
    const r = replayed.get(record.instanceId);
    for (const field of REPLAYED_FIELDS) {
      // Records written before the fallback existed have no `fallback` field: they never fell back.
      const a = field === 'fallback' ? (record[field] ?? false) : record[field];
      const b = field === 'fallback' ? (r?.[field] ?? false) : r?.[field];
      if (JSON.stringify(a) !== JSON.stringify(b))
        out.push({ instanceId: record.instanceId, field, recorded: a, replayed: b });
    }
  }
  return out;
}
