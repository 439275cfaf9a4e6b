import type { BucketName } from '@deepconf-safety/run-store';
import { RunnerConfigError } from '../errors.js';
import {
  compareWithRecording,
  replayRecordedSettings,
  replayRun,
  type BlockedTrace,
  type ReplayMismatch,
  type ReplaySetting,
} from './replay-run.js';
import type { RecordedSettings, Recording } from './recording.js';

export interface SweepGrid {
  windows: readonly number[];
  keepPercents: readonly number[];
  warmups: readonly number[];
  /** How a fallback vote labels traces the replay stops elsewhere than recorded (see `ReplaySetting`; default `exact`). */
  fallbackLabels?: 'exact' | 'recorded';
}

export interface SweepBucket {
  count: number;
  correct: number;
  accuracy: number | null;
}

export interface SweepRow {
  window: number;
  keepPercent: number;
  warmup: number;
  /** False when the setting needs tokens the recording never generated (see `blockedTraces`). */
  computable: boolean;
  blockedTraces: number;
  /** Why the blocked traces block the setting (empty when computable). */
  blockedReasons: Partial<Record<BlockedTrace['reason'], number>>;
  /** Fallback voters labelled on their recorded text (`fallbackLabels: 'recorded'`; null when not computable). */
  approximateLabels: number | null;
  instances: number;
  decided: number;
  accuracy: number | null;
  tokens: number | null;
  baselineTokens: number | null;
  savingsPercent: number | null;
  traces: number | null;
  earlyStopped: number | null;
  earlyStopRate: number | null;
  voters: number | null;
  splitConfidence: number | null;
  buckets: Record<BucketName, SweepBucket> | null;
  /** On the accuracy-versus-tokens Pareto front of the computable settings. */
  pareto: boolean;
  /** The setting the recorded run used (with early stopping). */
  recorded: boolean;
}

export interface RecordedCheck {
  /** False when the run's own setting cannot be replayed (never happens for a complete recording). */
  computable: boolean;
  instances: number;
  mismatches: ReplayMismatch[];
}

export interface SweepResult {
  settings: RecordedSettings;
  emulated: boolean;
  rows: SweepRow[];
  /** The replay of the run's own settings compared with its online records. */
  recordedCheck: RecordedCheck;
}

const BUCKET_NAMES: readonly BucketName[] = [
  'confident_refusal',
  'uncertain_refusal',
  'confident_compliance',
  'uncertain_compliance',
];

function checkGrid(grid: SweepGrid): void {
  const lists: Array<[string, readonly number[]]> = [
    ['--window', grid.windows],
    ['--keep-percent', grid.keepPercents],
    ['--warmup', grid.warmups],
  ];
  for (const [flag, values] of lists)
    if (values.length === 0) throw new RunnerConfigError(flag, 'needs at least one value');
}

/**
 * Indices of the points no other point beats: one is dominated when another has at most its tokens and at
 * least its accuracy, and is strictly better in one. Points without an accuracy or tokens are never on it.
 */
export function paretoFront(points: ReadonlyArray<{ tokens: number | null; accuracy: number | null }>): Set<number> {
  const front = new Set<number>();
  points.forEach((p, i) => {
    if (p.tokens === null || p.accuracy === null) return;
    const dominated = points.some(
      (q, j) =>
        j !== i &&
        q.tokens !== null &&
        q.accuracy !== null &&
        q.tokens <= p.tokens! &&
        q.accuracy >= p.accuracy! &&
        (q.tokens < p.tokens! || q.accuracy > p.accuracy!),
    );
    if (!dominated) front.add(i);
  });
  return front;
}

/**
 * Replays every (window, keepPercent, warmup) of the grid with early stopping and checks that the run's own
 * setting reproduces its online records. Settings that would need tokens the recording never generated are
 * kept as rows with `computable: false`.
 */
export function sweepRecording(
  recording: Recording,
  grid: SweepGrid,
  onProgress?: (done: number, total: number) => void,
): SweepResult {
  checkGrid(grid);
  const settings: ReplaySetting[] = [];
  for (const window of new Set(grid.windows)) {
    for (const warmup of new Set(grid.warmups)) {
      for (const keepPercent of new Set(grid.keepPercents))
        settings.push({
          window,
          keepPercent,
          warmup,
          ...(grid.fallbackLabels ? { fallbackLabels: grid.fallbackLabels } : {}),
        });
    }
  }
  const s = recording.settings;
  const rows: SweepRow[] = settings.map((setting, i) => {
    const replay = replayRun(recording, setting);
    onProgress?.(i + 1, settings.length);
    const recorded =
      s.earlyStop &&
      setting.window === s.window &&
      setting.keepPercent === s.keepPercent &&
      setting.warmup === s.warmup;
    const base = {
      window: setting.window,
      keepPercent: setting.keepPercent,
      warmup: setting.warmup,
      recorded,
      pareto: false,
      instances: recording.instances.length,
    };
    if (!replay.computable) {
      const blockedReasons: SweepRow['blockedReasons'] = {};
      for (const b of replay.blocked) blockedReasons[b.reason] = (blockedReasons[b.reason] ?? 0) + 1;
      return {
        ...base,
        computable: false,
        blockedTraces: replay.blocked.length,
        blockedReasons,
        approximateLabels: null,
        decided: 0,
        accuracy: null,
        tokens: null,
        baselineTokens: null,
        savingsPercent: null,
        traces: null,
        earlyStopped: null,
        earlyStopRate: null,
        voters: null,
        splitConfidence: null,
        buckets: null,
      };
    }
    const o = replay.results.overall;
    const b = replay.results.buckets;
    return {
      ...base,
      computable: true,
      blockedTraces: 0,
      blockedReasons: {},
      approximateLabels: replay.approximateLabels,
      decided: o.decided,
      accuracy: o.accuracy,
      tokens: o.total_tokens,
      baselineTokens: o.baseline_tokens,
      savingsPercent: o.token_savings_percent,
      traces: replay.traces.length,
      earlyStopped: replay.traces.filter((t) => t.stopReason === 'early_stopped').length,
      earlyStopRate: o.early_stop_rate,
      voters: replay.instances.reduce((a, r) => a + r.voters, 0),
      splitConfidence: b.splitConfidence,
      buckets: Object.fromEntries(
        BUCKET_NAMES.map((n) => [n, { count: b[n].count, correct: b[n].correct, accuracy: b[n].accuracy }]),
      ) as Record<BucketName, SweepBucket>,
    };
  });
  for (const i of paretoFront(rows)) (rows[i] as SweepRow).pareto = true;

  const own = replayRecordedSettings(recording);
  const recordedCheck: RecordedCheck = own.computable
    ? { computable: true, instances: own.instances.length, mismatches: compareWithRecording(recording, own) }
    : { computable: false, instances: 0, mismatches: [] };
  return { settings: s, emulated: recording.emulated, rows, recordedCheck };
}
