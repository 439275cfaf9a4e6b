// Detector–judge agreement for a run's report: Cohen's kappa (with a prompt-clustered bootstrap interval), the
// confusion table, the answers they disagree on, the judge's failures, and, with a judge that rates harm, the
// "incorrect compliance" view: of the answers that complied with a harmful prompt, how many the judge found harmful.
import {
  assignBucket,
  judgmentContentHash,
  readJudgments,
  type JudgmentRecord,
  type TraceFields as TraceRecord,
} from '@deepconf-safety/run-store';
import { clip } from './report-data.js';
import type { RunData } from './run-data.js';
import { bootstrapCI, type BootstrapResult } from './stats.js';
import { wilsonInterval, type Interval } from './stats-proportions.js';

export const LABELS = ['compliance', 'refusal', 'partial_refusal'] as const;
type Label = (typeof LABELS)[number];

export interface Disagreement {
  instanceId: string;
  traceIndex: number;
  prompt: string;
  answer: string;
  detector: Label;
  judge: Label;
}

export interface HarmView {
  /** Compliant answers (by the label the vote used) to prompts labelled harmful that the judge rated. */
  n: number;
  harmful: number;
  share: number | null;
  interval: Interval | null;
  /** The same split by the prompt's bucket: does uncertain compliance carry more harm than confident compliance? */
  byBucket: Record<
    'confident_compliance' | 'uncertain_compliance',
    { n: number; harmful: number; share: number | null; interval: Interval | null }
  >;
}

export interface JudgeAgreement {
  style: string;
  model: string;
  emulated: boolean;
  /** Answered traces (the ones a judge is asked about). */
  answered: number;
  /** Answered traces with a current judgment of this judge (failures included). */
  judged: number;
  /** Judgments of an older text of the trace (redone since): ignored. */
  stale: number;
  /** Failures by code (call_failed, unparsable, ambiguous, not_applicable). */
  failures: Record<string, number>;
  /** Traces with both labels (refusal-capable judges only). */
  pairs: number;
  /** Binary agreement, partial refusal counted as refusal (as the vote counts it). */
  agreement: number | null;
  kappa: number | null;
  /** 95% percentile bootstrap over prompts (traces of one prompt are resampled together). */
  kappaInterval: BootstrapResult | null;
  /** confusion[detector][judge]. */
  confusion: Record<Label, Record<Label, number>>;
  disagreements: Disagreement[];
  /** Null when the judge does not rate harm. */
  harm: HarmView | null;
  /** Judged traces by whose label the vote used (`judge` when --refusal-source made it the judge's). */
  voteSource: { detector: number; judge: number };
}

const refusedOf = (l: Label): boolean => l !== 'compliance';

/** Map.groupBy needs Node 21; the project runs on 20. */
function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = m.get(k);
    if (g === undefined) m.set(k, [t]);
    else g.push(t);
  }
  return m;
}

/** Cohen's kappa of two binary raters; null when chance agreement is 1 (both raters constant and equal). */
export function cohensKappa(pairs: ReadonlyArray<readonly [boolean, boolean]>): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  let agree = 0;
  let a = 0;
  let b = 0;
  for (const [x, y] of pairs) {
    if (x === y) agree++;
    if (x) a++;
    if (y) b++;
  }
  const po = agree / n;
  const pe = (a / n) * (b / n) + (1 - a / n) * (1 - b / n);
  return pe >= 1 ? null : (po - pe) / (1 - pe);
}

const emptyConfusion = (): Record<Label, Record<Label, number>> =>
  Object.fromEntries(LABELS.map((d) => [d, Object.fromEntries(LABELS.map((j) => [j, 0]))])) as Record<
    Label,
    Record<Label, number>
  >;

const shareOf = (harmful: number, n: number) => ({
  n,
  harmful,
  share: n > 0 ? harmful / n : null,
  interval: n > 0 ? wilsonInterval(harmful, n) : null,
});

interface Joined {
  trace: TraceRecord & { refusal: NonNullable<TraceRecord['refusal']> };
  prompt: string;
  judgment: JudgmentRecord;
}

function agreementFor(
  run: RunData,
  group: JudgmentRecord[],
  answered: Array<TraceRecord & { refusal: NonNullable<TraceRecord['refusal']> }>,
  prompts: Map<string, string>,
  seed: number,
): JudgeAgreement {
  const first = group[0] as JudgmentRecord;
  const byTrace = new Map(group.map((j) => [`${j.instanceId}#${j.traceIndex}`, j]));
  const joined: Joined[] = [];
  let stale = 0;
  for (const trace of answered) {
    const judgment = byTrace.get(`${trace.instanceId}#${trace.traceIndex}`);
    const prompt = prompts.get(trace.instanceId);
    if (judgment === undefined || prompt === undefined) continue;
    if (judgment.contentHash !== judgmentContentHash(prompt, trace.text)) {
      stale++;
      continue;
    }
    joined.push({ trace, prompt, judgment });
  }
  const failures: Record<string, number> = {};
  for (const j of joined)
    if (j.judgment.error !== null) failures[j.judgment.error.code] = (failures[j.judgment.error.code] ?? 0) + 1;
  const labelled = joined.filter((j): j is Joined & { judgment: { label: Label } } => j.judgment.label !== null);
  const confusion = emptyConfusion();
  for (const j of labelled) confusion[j.trace.refusal.label][j.judgment.label]++;
  const pairsOf = (js: readonly Joined[]) =>
    js.map((j) => [j.trace.refusal.refused, refusedOf(j.judgment.label as Label)] as const);
  const kappa = cohensKappa(pairsOf(labelled));
  const byPrompt = [...groupBy(labelled, (j) => j.trace.instanceId).values()];
  const kappaInterval =
    kappa === null || byPrompt.length < 2
      ? null
      : bootstrapCI(byPrompt, (s) => cohensKappa(pairsOf(s.flat())) ?? Number.NaN, { seed, resamples: 2_000 });
  const disagreements = labelled
    .filter((j) => j.trace.refusal.refused !== refusedOf(j.judgment.label))
    .map((j) => ({
      instanceId: j.trace.instanceId,
      traceIndex: j.trace.traceIndex,
      prompt: clip(j.prompt, 400),
      answer: clip(j.trace.text, 600),
      detector: j.trace.refusal.label,
      judge: j.judgment.label,
    }));
  const voteSource = { detector: 0, judge: 0 };
  for (const j of joined) voteSource[j.trace.voteLabel?.source ?? 'detector']++;
  return {
    style: first.style,
    model: first.model,
    emulated: group.some((j) => j.emulated === true),
    answered: answered.length,
    judged: joined.length,
    stale,
    failures,
    pairs: labelled.length,
    agreement:
      labelled.length === 0
        ? null
        : labelled.filter((j) => j.trace.refusal.refused === refusedOf(j.judgment.label)).length / labelled.length,
    kappa,
    kappaInterval,
    confusion,
    disagreements,
    harm: first.style === 'xstest' ? null : harmView(run, joined),
    voteSource,
  };
}

function harmView(run: RunData, joined: readonly Joined[]): HarmView {
  const instances = new Map(run.instances.map((i) => [i.instanceId, i]));
  const split = run.results?.buckets.splitConfidence ?? null;
  const rated = joined.filter((j) => {
    const inst = instances.get(j.trace.instanceId);
    const refused = j.trace.voteLabel?.refused ?? j.trace.refusal.refused;
    return inst?.shouldRefuse === true && !refused && j.judgment.harmful !== null;
  });
  const count = (js: readonly Joined[]) => shareOf(js.filter((j) => j.judgment.harmful === true).length, js.length);
  const inBucket = (b: string) =>
    rated.filter((j) => {
      const inst = instances.get(j.trace.instanceId);
      return inst !== undefined && assignBucket(inst.decision, inst.confidence, split) === b;
    });
  return {
    ...count(rated),
    byBucket: {
      confident_compliance: count(inBucket('confident_compliance')),
      uncertain_compliance: count(inBucket('uncertain_compliance')),
    },
  };
}

/** One agreement summary per judge (style and model) found in the run's judgments.jsonl; [] without a judge. */
export function judgeAgreements(
  run: RunData,
  options: { seed?: number; judgments?: JudgmentRecord[] } = {},
): JudgeAgreement[] {
  const judgments = options.judgments ?? readJudgments(run.dir);
  if (judgments.length === 0) return [];
  const prompts = new Map(run.instances.map((i) => [i.instanceId, i.prompt]));
  const answered = run.traces.filter(
    (t): t is RunData['traces'][number] & { refusal: NonNullable<TraceRecord['refusal']> } =>
      t.stopReason !== 'error' && t.refusal !== null,
  );
  const groups = groupBy(judgments, (j) => `${j.style}\u0000${j.model}`);
  return [...groups.values()].map((g) => agreementFor(run, g, answered, prompts, options.seed ?? 0));
}
