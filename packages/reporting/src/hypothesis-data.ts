import { assignBucket, type InstanceRecord, type TraceRecord } from '@deepconf-safety/run-store';

/*
 * The populations the hypothesis is tested on. The unit is the prompt (one decision each); the question is
 * about compliance, so the confidence tests take complying prompts only (../shared/docs/statistics.md §1).
 */

/** A labelled, decided prompt with its decision confidence. */
export interface DecisionRow {
  id: string;
  category: string;
  decision: 'refuse' | 'comply';
  confidence: number;
  correct: boolean;
  shouldRefuse: boolean | null;
  /** Mean tokens of the traces behind the decision (see {@link decisionLengths}); null when unknown. */
  length: number | null;
  /** 'uncertain' below the split, 'confident' at or above it; null without a split. */
  level: 'uncertain' | 'confident' | null;
}

/**
 * Length of a decision: the mean tokens of the traces that voted (every answered trace when the fallback
 * decided). The control for length in the regression: the lowest-group confidence falls as traces grow.
 */
export function decisionLengths(
  traces: ReadonlyArray<Pick<TraceRecord, 'instanceId' | 'stopReason' | 'tokens' | 'voted'>>,
): Map<string, number> {
  const byPrompt = new Map<string, { voted: number[]; answered: number[] }>();
  for (const t of traces) {
    if (t.stopReason === 'error') continue;
    const entry = byPrompt.get(t.instanceId) ?? { voted: [], answered: [] };
    entry.answered.push(t.tokens);
    if (t.voted) entry.voted.push(t.tokens);
    byPrompt.set(t.instanceId, entry);
  }
  const out = new Map<string, number>();
  for (const [id, { voted, answered }] of byPrompt) {
    const use = voted.length > 0 ? voted : answered;
    if (use.length > 0) out.set(id, use.reduce((s, v) => s + v, 0) / use.length);
  }
  return out;
}

export function decisionRows(
  instances: readonly InstanceRecord[],
  splitConfidence: number | null,
  lengths?: ReadonlyMap<string, number>,
): DecisionRow[] {
  return instances.flatMap((i): DecisionRow[] => {
    if (i.decision === null || i.correct === null || i.confidence === null || !Number.isFinite(i.confidence)) return [];
    const bucket = assignBucket(i.decision, i.confidence, splitConfidence);
    return [
      {
        id: i.instanceId,
        category: i.category,
        decision: i.decision,
        confidence: i.confidence,
        correct: i.correct,
        shouldRefuse: i.shouldRefuse,
        length: lengths?.get(i.instanceId) ?? null,
        level: bucket === null ? null : bucket.startsWith('confident') ? 'confident' : 'uncertain',
      },
    ];
  });
}

/**
 * Why the hypothesis cannot be tested on these prompts, in one sentence, or null when it can. When every
 * labelled prompt is harmful, every compliance is wrong by definition (and when every one is safe, right).
 */
export function untestableReason(rows: readonly DecisionRow[], benchmark: string | null): string | null {
  const name = benchmark ?? 'this benchmark';
  const labels = rows.flatMap((r) => (r.shouldRefuse === null ? [] : [r.shouldRefuse]));
  if (rows.length === 0)
    return `The hypothesis cannot be tested: no prompt of ${name} has both a decision and a label.`;
  if (labels.length > 0 && labels.every(Boolean)) {
    return `The hypothesis cannot be tested on ${name}: every prompt is harmful, so every compliance is wrong whatever its confidence; use a benchmark with safe prompts as well (e.g. xstest, wildguardmix, toxicchat).`;
  }
  if (labels.length > 0 && labels.every((l) => !l)) {
    return `The hypothesis cannot be tested on ${name}: every prompt is safe, so every compliance is right whatever its confidence; use a benchmark with harmful prompts as well (e.g. xstest, wildguardmix, toxicchat).`;
  }
  return null;
}

const CONTRAST = 'contrast_';

/**
 * The stratum of each category. A benchmark with paired contrast categories (XSTest: `homonyms` and
 * `contrast_homonyms`, `privacy_public` / `privacy_fictional` and `contrast_privacy`) is stratified by the pair,
 * because within one XSTest category every prompt has the same label, so a compliance there is right or wrong
 * by category alone and the stratum carries no information. A safe category joins the contrast category whose
 * topic it starts or ends with; every other category is its own stratum.
 */
export function stratumOf(categories: Iterable<string>): Map<string, string> {
  const all = [...new Set(categories)];
  const topics = all.filter((c) => c.startsWith(CONTRAST)).map((c) => c.slice(CONTRAST.length));
  const out = new Map<string, string>();
  for (const c of all) {
    if (c.startsWith(CONTRAST)) out.set(c, c.slice(CONTRAST.length));
    else out.set(c, topics.find((t) => c === t || c.startsWith(`${t}_`) || c.endsWith(`_${t}`)) ?? c);
  }
  return out;
}

/** Strata of the rows (by {@link stratumOf} over every category of the run); null when there is only one. */
export function categoryStrata(
  rows: readonly DecisionRow[],
  categories: Iterable<string>,
): Map<string, DecisionRow[]> | null {
  const key = stratumOf([...categories, ...rows.map((r) => r.category)]);
  const strata = new Map<string, DecisionRow[]>();
  for (const r of rows) {
    const k = key.get(r.category) as string;
    strata.set(k, [...(strata.get(k) ?? []), r]);
  }
  return strata.size > 1 ? strata : null;
}
