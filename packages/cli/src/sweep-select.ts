import { assignBucket, percentile, type InstanceRecord } from '@deepconf-safety/run-store';
import {
  PRIMARY_DESCRIPTIONS,
  compareProportions,
  decisionLengths,
  hypothesisTests,
  seededRandom,
  type PrimaryTestName,
  type ProportionComparison,
  type TestStatement,
} from '@deepconf-safety/reporting';
import { replayRun, type Recording, type SweepRow } from '@deepconf-safety/runner';

/*
 * `npm run sweep -- <run> --select-on half`: a setting chosen on the same prompts it is tested on is a forking
 * path (../shared/docs/statistics.md §1). The prompts are split in two by a seeded shuffle; every setting of the
 * grid is replayed on the selection half alone, one is chosen there, and the hypothesis is tested on the other
 * half alone. Each half is replayed as its own recording, so nothing of the test half (not even its warmup
 * confidences under global calibration) reaches the choice.
 */

export interface HalfSplit {
  seed: number;
  /** What the shuffle was stratified by (label always; the calibration slice under global calibration). */
  stratifiedBy: Array<'label' | 'calibration'>;
  /** Prompt ids in recording order. */
  selection: string[];
  test: string[];
}

export interface SplitPrompt {
  id: string;
  shouldRefuse: boolean | null;
  calibration: boolean;
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Two disjoint halves covering every prompt: within each stratum (label, and the calibration slice when asked) a
 * seeded Fisher–Yates shuffle, then the strata's prompts dealt alternately, so each stratum and the whole differ
 * between halves by at most one prompt. The same seed and prompts give the same halves.
 */
export function splitHalves(prompts: readonly SplitPrompt[], seed: number, byCalibration: boolean): HalfSplit {
  const random = seededRandom(seed);
  const strata = new Map<string, string[]>();
  for (const p of prompts) {
    const key = `${String(p.shouldRefuse)}|${byCalibration ? String(p.calibration) : ''}`;
    strata.set(key, [...(strata.get(key) ?? []), p.id]);
  }
  const selected = new Set<string>();
  let turn = 0;
  for (const key of [...strata.keys()].sort()) {
    for (const id of shuffle(strata.get(key) as string[], random)) {
      if (turn % 2 === 0) selected.add(id);
      turn++;
    }
  }
  return {
    seed,
    stratifiedBy: byCalibration ? ['label', 'calibration'] : ['label'],
    selection: prompts.filter((p) => selected.has(p.id)).map((p) => p.id),
    test: prompts.filter((p) => !selected.has(p.id)).map((p) => p.id),
  };
}

/** The recording restricted to some prompts, as if the run had had only those. */
export function subRecording(recording: Recording, ids: readonly string[]): Recording {
  const keep = new Set(ids);
  const instances = recording.instances.filter((i) => keep.has(i.record.instanceId));
  return {
    ...recording,
    instances,
    unfinished: [],
    earlyStoppedTraces: instances.reduce(
      (a, i) => a + i.traces.filter((t) => t.record.stopReason === 'early_stopped').length,
      0,
    ),
  };
}

export interface SelectionSetting extends Pick<SweepRow, 'window' | 'keepPercent' | 'warmup'> {
  /** Percentile of decision confidence splitting confident from uncertain (within the half). */
  splitPercentile: number;
}

export interface ComplianceCounts {
  /** Correct compliances. */
  k: number;
  n: number;
}

/** One setting replayed on one half: the sweep's row fields it shares, and the compliance comparison. */
export interface HalfEvaluation
  extends Pick<
    SweepRow,
    | 'computable'
    | 'instances'
    | 'decided'
    | 'accuracy'
    | 'tokens'
    | 'baselineTokens'
    | 'savingsPercent'
    | 'splitConfidence'
  > {
  setting: SelectionSetting;
  uncertain: ComplianceCounts | null;
  confident: ComplianceCounts | null;
  /** Confident minus uncertain compliance accuracy (positive = uncertain compliance riskier); null when a group is empty. */
  gap: number | null;
  /** Uncertain vs confident compliance accuracy: Newcombe interval, Fisher's exact p. */
  comparison: ProportionComparison | null;
}

type Replayed = Extract<ReturnType<typeof replayRun>, { computable: true }>;

function complianceGroups(instances: readonly InstanceRecord[], split: number | null) {
  const uncertain: ComplianceCounts = { k: 0, n: 0 };
  const confident: ComplianceCounts = { k: 0, n: 0 };
  for (const r of instances) {
    if (r.correct === null || r.confidence === null || !Number.isFinite(r.confidence)) continue;
    const bucket = assignBucket(r.decision, r.confidence, split);
    const group = bucket === 'uncertain_compliance' ? uncertain : bucket === 'confident_compliance' ? confident : null;
    if (group === null) continue;
    group.n++;
    if (r.correct) group.k++;
  }
  return { uncertain, confident };
}

/** The half's split: the percentile of its own decided prompts' confidence, as summarizeRun defines a run's. */
function splitOf(instances: readonly InstanceRecord[], splitPercentile: number): number | null {
  return percentile(
    instances.flatMap((r) => (r.decision !== null && r.confidence !== null ? [r.confidence] : [])),
    splitPercentile,
  );
}

function evaluateReplay(replay: Replayed, setting: SelectionSetting, alpha: number): HalfEvaluation {
  const o = replay.results.overall;
  const split = splitOf(replay.instances, setting.splitPercentile);
  const { uncertain, confident } = complianceGroups(replay.instances, split);
  const both = uncertain.n > 0 && confident.n > 0;
  const comparison = both ? compareProportions(uncertain.k, uncertain.n, confident.k, confident.n, { alpha }) : null;
  return {
    setting,
    computable: true,
    instances: o.instances,
    decided: o.decided,
    accuracy: o.accuracy,
    tokens: o.total_tokens,
    baselineTokens: o.baseline_tokens,
    savingsPercent: o.token_savings_percent,
    splitConfidence: split,
    uncertain,
    confident,
    gap: comparison === null ? null : -comparison.difference,
    comparison,
  };
}

function replaySetting(half: Recording, setting: SelectionSetting, fallbackLabels: 'exact' | 'recorded') {
  return replayRun(half, {
    window: setting.window,
    keepPercent: setting.keepPercent,
    warmup: setting.warmup,
    fallbackLabels,
  });
}

/** Replays one setting on one half (a recording restricted to it). */
export function evaluateHalf(
  half: Recording,
  setting: SelectionSetting,
  options: { fallbackLabels?: 'exact' | 'recorded'; alpha?: number } = {},
): HalfEvaluation {
  const replay = replaySetting(half, setting, options.fallbackLabels ?? 'exact');
  if (replay.computable) return evaluateReplay(replay, setting, options.alpha ?? 0.05);
  return {
    setting,
    computable: false,
    instances: half.instances.length,
    decided: 0,
    accuracy: null,
    tokens: null,
    baselineTokens: null,
    savingsPercent: null,
    splitConfidence: null,
    uncertain: null,
    confident: null,
    gap: null,
    comparison: null,
  };
}

export const SELECTION_CRITERIA = ['p-value', 'gap', 'accuracy'] as const;
export type SelectionCriterion = (typeof SELECTION_CRITERIA)[number];

export const CRITERION_DESCRIPTIONS: Record<SelectionCriterion, string> = {
  'p-value':
    "the smallest Fisher's exact p of uncertain vs confident compliance accuracy among settings where uncertain compliance is the less accurate (then the larger gap, then fewer tokens)",
  gap: 'the largest gap of compliance accuracy, confident minus uncertain (then the smaller p, then fewer tokens)',
  accuracy: 'the highest accuracy over labelled prompts (then fewer tokens)',
};

/** Sort keys, smaller first; every criterion ends with tokens so that equal settings resolve to the cheaper one. */
function rankKey(e: HalfEvaluation, criterion: SelectionCriterion): number[] {
  const p = e.comparison?.pValue ?? Number.POSITIVE_INFINITY;
  const gap = e.gap ?? Number.NEGATIVE_INFINITY;
  const tokens = e.tokens ?? Number.POSITIVE_INFINITY;
  if (criterion === 'accuracy') return [-(e.accuracy ?? Number.NEGATIVE_INFINITY), tokens];
  if (criterion === 'gap') return [-gap, Number.isNaN(p) ? Number.POSITIVE_INFINITY : p, tokens];
  return [gap > 0 ? 0 : 1, Number.isNaN(p) ? Number.POSITIVE_INFINITY : p, -gap, tokens];
}

const compareKeys = (a: number[], b: number[]): number => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number) ? -1 : 1;
  return 0;
};

/**
 * The chosen setting: the best by the criterion among the computable ones that can answer it (both compliance
 * groups non-empty, except for accuracy); ties keep grid order. A pure function of the evaluations given.
 */
export function chooseSetting(
  evaluations: readonly HalfEvaluation[],
  criterion: SelectionCriterion,
): HalfEvaluation | null {
  const eligible = evaluations.filter((e) =>
    criterion === 'accuracy' ? e.computable && e.accuracy !== null : e.computable && e.comparison !== null,
  );
  let best: HalfEvaluation | null = null;
  for (const e of eligible)
    if (best === null || compareKeys(rankKey(e, criterion), rankKey(best, criterion)) < 0) best = e;
  return best;
}

export interface SelectionGrid {
  windows: readonly number[];
  keepPercents: readonly number[];
  warmups: readonly number[];
  splitPercentiles: readonly number[];
  fallbackLabels?: 'exact' | 'recorded';
}

export function gridSettings(grid: SelectionGrid): SelectionSetting[] {
  const out: SelectionSetting[] = [];
  for (const window of new Set(grid.windows))
    for (const warmup of new Set(grid.warmups))
      for (const keepPercent of new Set(grid.keepPercents))
        for (const splitPercentile of new Set(grid.splitPercentiles))
          out.push({ window, keepPercent, warmup, splitPercentile });
  return out;
}

/** The hypothesis on the test half under the chosen setting, as a run's report computes it. */
export interface TestHalfResult extends HalfEvaluation {
  primary: PrimaryTestName;
  primaryDescription: string;
  /** The primary test's sentence and the secondary ones, as the report words them. */
  statements: Array<Pick<TestStatement, 'role' | 'text' | 'significant' | 'n'>>;
  untestable: string | null;
}

export interface HalfSelectionReport {
  split: HalfSplit;
  criterion: SelectionCriterion;
  criterionDescription: string;
  alpha: number;
  /** Every setting on the selection half (the only data the choice saw). */
  selection: HalfEvaluation[];
  chosen: SelectionSetting | null;
  /** The chosen setting on the test half; null when no setting could be chosen or it is not computable there. */
  test: TestHalfResult | null;
  notes: string[];
}

function testHalf(
  half: Recording,
  setting: SelectionSetting,
  options: { primary: PrimaryTestName; alpha: number; fallbackLabels: 'exact' | 'recorded'; seed: number },
): TestHalfResult | null {
  const replay = replaySetting(half, setting, options.fallbackLabels);
  if (!replay.computable) return null;
  const base = evaluateReplay(replay, setting, options.alpha);
  const h = hypothesisTests(replay.instances, {
    splitConfidence: base.splitConfidence,
    primary: options.primary,
    alpha: options.alpha,
    seed: options.seed,
    lengths: decisionLengths(replay.traces),
    decisionConfidence: half.settings.decisionConfidence,
    benchmark: half.manifest.config.benchmark,
  });
  return {
    ...base,
    primary: options.primary,
    primaryDescription: PRIMARY_DESCRIPTIONS[options.primary],
    statements: h.statements.map((s) => ({ role: s.role, text: s.text, significant: s.significant, n: s.n })),
    untestable: h.untestable,
  };
}

export interface SelectOnHalfOptions {
  seed: number;
  criterion: SelectionCriterion;
  primary: PrimaryTestName;
  alpha?: number;
}

/** Splits, chooses on the selection half, tests on the other. */
export function selectOnHalf(
  recording: Recording,
  grid: SelectionGrid,
  options: SelectOnHalfOptions,
): HalfSelectionReport {
  const alpha = options.alpha ?? 0.05;
  const fallbackLabels = grid.fallbackLabels ?? 'exact';
  const global = recording.settings.calibration === 'global';
  const split = splitHalves(
    recording.instances.map((i) => ({
      id: i.record.instanceId,
      shouldRefuse: i.record.shouldRefuse,
      calibration: i.calibration,
    })),
    options.seed,
    global,
  );
  const selectionHalf = subRecording(recording, split.selection);
  const selection = gridSettings(grid).map((s) => evaluateHalf(selectionHalf, s, { fallbackLabels, alpha }));
  const chosen = chooseSetting(selection, options.criterion)?.setting ?? null;
  const notes: string[] = [];
  if (global)
    notes.push(
      "Global calibration: each half's threshold comes from the calibration prompts in that half only (about half the run's calibration slice).",
    );
  const test =
    chosen === null
      ? null
      : testHalf(subRecording(recording, split.test), chosen, { ...options, alpha, fallbackLabels });
  if (chosen === null)
    notes.push(
      'No setting of the grid could be chosen on the selection half (none computable, or no setting with both compliance groups non-empty).',
    );
  else if (test === null)
    notes.push('The chosen setting is not computable on the test half (it needs tokens the run never generated).');
  return {
    split,
    criterion: options.criterion,
    criterionDescription: CRITERION_DESCRIPTIONS[options.criterion],
    alpha,
    selection,
    chosen,
    test,
    notes,
  };
}
