import {
  findStopIndex,
  replayPolicy,
  type PolicyReplay,
  type PolicyReplayPrompt,
  type PolicyReplaySetting,
} from '@deepconf-safety/confidence';
import type { RunData } from './run-data.js';

export interface SweepPoint {
  /** DeepConf's η: the share of warmup traces kept above the threshold (10 = DeepConf-low, 90 = DeepConf-high). */
  keepPercent: number;
  accuracy: number | null;
  /** Labelled prompts that received a decision. */
  decided: number;
  /** Labelled prompts left without a decision (every trace failed). */
  undecided: number;
  /** Labelled prompts decided by the fallback vote (no trace qualified as a voter). */
  fallbacks: number;
  tokens: number;
  baselineTokens: number;
}

export interface ThresholdSweep {
  window: number;
  points: SweepPoint[];
  /**
   * η values this run cannot answer: they would let a trace the run stopped run further (a lower threshold), or
   * need the label of a text the run never produced (a fallback vote over traces stopped elsewhere).
   */
  notComputable: number[];
}

/** First token index at which the trailing window mean falls below `threshold` (only once a full window exists, as online). */
export function replayStop(confs: ArrayLike<number>, window: number, threshold: number): number | null {
  return findStopIndex(confs, window, threshold);
}

/** The run's recorded DeepConf settings, or null when it lacks one the replay needs. */
function recordedSettings(run: RunData): Omit<PolicyReplaySetting, 'keepPercent'> | null {
  const { window, warmup, calibration, earlyStop } = run.manifest.config;
  // Without warmup traces (none configured, or none recorded) there is no threshold to replay.
  if (warmup < 1 || !run.traces.some((t) => t.phase === 'warmup')) return null;
  return {
    window,
    warmup,
    earlyStop: true,
    calibration,
    recordedEarlyStop: earlyStop,
    decisionConfidence: run.manifest.config.decisionConfidence,
    vote: run.manifest.config.vote,
  };
}

/** The finished prompts with their traces, as the runner's replay (`npm run sweep`) reads them. */
function replayPrompts(run: RunData): PolicyReplayPrompt[] {
  return run.prompts.map(({ instance: inst, traces }) => ({
    id: inst.instanceId,
    // Under global calibration, the prompts whose warmup set the threshold are the ones with warmup traces.
    calibration: traces.some((t) => t.phase === 'warmup'),
    skipped: typeof inst['skipped'] === 'number' ? inst['skipped'] : 0,
    traces: traces.map((t) => ({
      traceIndex: t.traceIndex,
      phase: t.phase,
      stopReason: t.stopReason,
      confidences: t.confidences,
      tokens: t.tokens,
      lowestGroup: t.lowestGroup,
      refused: t.stopReason === 'error' || t.refusal === null ? null : (t.voteLabel?.refused ?? t.refusal.refused),
    })),
  }));
}

/**
 * Per-instance calibration decides each prompt on its own traces, so replaying slices of the prompts gives the same
 * prompts as one replay of all, in the same order, while each slice's results die young: one replay of 10,000
 * prompts per η held all of them at once and grew the heap by ~200 MiB over a sweep. Global calibration needs every
 * prompt at once.
 */
const SLICE = 500;
function* replaySlices(prompts: readonly PolicyReplayPrompt[], setting: PolicyReplaySetting): Generator<PolicyReplay> {
  const size = setting.calibration === 'global' || prompts.length === 0 ? Math.max(1, prompts.length) : SLICE;
  for (let i = 0; i < Math.max(1, prompts.length); i += size) yield replayPolicy(prompts.slice(i, i + size), setting);
}

/** One η's point, or null when the setting is not computable (any prompt blocked). */
function sweepPoint(
  prompts: readonly PolicyReplayPrompt[],
  setting: PolicyReplaySetting,
  labels: ReadonlyMap<string, boolean | null>,
): SweepPoint | null {
  let correct = 0,
    decided = 0,
    undecided = 0,
    fallbacks = 0,
    tokens = 0,
    baseline = 0;
  for (const replay of replaySlices(prompts, setting)) {
    if (!replay.computable) return null;
    for (const p of replay.prompts) {
      tokens += p.tokens;
      baseline += p.baselineTokens;
      const label = labels.get(p.id) ?? null;
      if (label === null) continue;
      if (p.decision === null) {
        undecided++;
        continue;
      }
      decided++;
      if (p.fallback) fallbacks++;
      if ((p.decision === 'refuse') === label) correct++;
    }
  }
  return {
    keepPercent: setting.keepPercent,
    accuracy: decided > 0 ? correct / decided : null,
    decided,
    undecided,
    fallbacks,
    tokens,
    baselineTokens: baseline,
  };
}

/**
 * Replays the run's recorded traces under other DeepConf thresholds (η) with its own window, warmup and
 * calibration, through the same policy code as the runner and `npm run sweep` (`replayPolicy` of
 * @deepconf-safety/confidence), so every point equals that sweep's row for the same setting. Early stopping only
 * truncates traces, so a more aggressive threshold is exact; settings that need tokens or labels the run never
 * produced are listed as not computable. Null when the run has no warmup (configured or recorded).
 */
export function thresholdSweep(
  run: RunData,
  keepPercents: readonly number[] = [1, 5, 10, 25, 50, 75, 90, 100],
): ThresholdSweep | null {
  const settings = recordedSettings(run);
  if (settings === null) return null;
  const prompts = replayPrompts(run);
  const labels = new Map(run.instances.map((i) => [i.instanceId, i.shouldRefuse]));
  const points: SweepPoint[] = [];
  const notComputable: number[] = [];
  for (const keepPercent of keepPercents) {
    const point = sweepPoint(prompts, { ...settings, keepPercent }, labels);
    if (point === null) notComputable.push(keepPercent);
    else points.push(point);
  }
  return { window: settings.window, points, notComputable };
}
