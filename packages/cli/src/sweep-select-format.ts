import type { ComplianceCounts, HalfEvaluation, HalfSelectionReport, SelectionSetting } from './sweep-select.js';

const pct = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${(100 * v).toFixed(digits)}%`;
const pValue = (p: number | null | undefined): string =>
  p === null || p === undefined || !Number.isFinite(p) ? 'n/a' : p < 0.0001 ? p.toExponential(2) : p.toFixed(4);
const counts = (c: ComplianceCounts | null): string =>
  c === null ? 'n/a' : `${c.k}/${c.n}${c.n > 0 ? ` (${pct(c.k / c.n)})` : ''}`;

export const selectionSettingLabel = (s: SelectionSetting): string =>
  `W${s.window} η${s.keepPercent} w${s.warmup} split p${s.splitPercentile}`;

/** "confident − uncertain = 12.0 pts [−3.1, 27.4] (Newcombe 95%), Fisher's exact p = 0.1234". */
export function gapText(e: HalfEvaluation): string {
  if (e.comparison === null || e.gap === null) return 'not computable (a compliance group is empty)';
  const level = Math.round(100 * e.comparison.interval.level);
  const lo = -e.comparison.interval.upper;
  const hi = -e.comparison.interval.lower;
  return (
    `confident − uncertain = ${(100 * e.gap).toFixed(1)} pts [${(100 * lo).toFixed(1)}, ${(100 * hi).toFixed(1)}] (Newcombe ${level}%), ` +
    `Fisher's exact p = ${pValue(e.comparison.pValue)}`
  );
}

/** The lines `npm run sweep` prints for --select-on half. */
export function selectionSummaryLines(s: HalfSelectionReport): string[] {
  const lines = [
    `select-on half (seed ${s.split.seed}, stratified by ${s.split.stratifiedBy.join(' and ')}): ` +
      `selection half ${s.split.selection.length} prompts chose, test half ${s.split.test.length} prompts tested; the test half never informed the choice`,
  ];
  if (s.chosen === null) return [...lines, ...s.notes];
  lines.push(`  chosen on the selection half (${s.criterion}): ${selectionSettingLabel(s.chosen)}`);
  if (s.test === null) return [...lines, ...s.notes];
  lines.push(
    `  test half: uncertain compliance ${counts(s.test.uncertain)} correct vs confident ${counts(s.test.confident)}; ${gapText(s.test)}`,
  );
  return lines;
}

function selectionTable(s: HalfSelectionReport): string[] {
  const out = [
    '| setting | accuracy | savings | uncertain compliance | confident compliance | gap (conf. − unc.) | Fisher p | |',
    '|:---|---:|---:|---:|---:|---:|---:|:---|',
  ];
  for (const e of s.selection) {
    const chosen =
      s.chosen !== null && selectionSettingLabel(e.setting) === selectionSettingLabel(s.chosen) ? '◆ chosen' : '';
    if (!e.computable) {
      out.push(`| ${selectionSettingLabel(e.setting)} | not computable | | | | | | |`);
      continue;
    }
    out.push(
      `| ${selectionSettingLabel(e.setting)} | ${pct(e.accuracy)} | ${e.savingsPercent === null ? 'n/a' : `${e.savingsPercent.toFixed(1)}%`} | ` +
        `${counts(e.uncertain)} | ${counts(e.confident)} | ${e.gap === null ? 'n/a' : `${(100 * e.gap).toFixed(1)} pts`} | ${pValue(e.comparison?.pValue)} | ${chosen} |`,
    );
  }
  return out;
}

function testSection(s: HalfSelectionReport): string[] {
  const t = s.test;
  if (s.chosen === null || t === null) return ['**No result on the test half.**', '', ...s.notes.map((n) => `- ${n}`)];
  const out = [
    `**Chosen on the selection half:** ${selectionSettingLabel(s.chosen)} (window ${s.chosen.window}, keep η ${s.chosen.keepPercent}%, warmup ${s.chosen.warmup}, confident at or above the ${s.chosen.splitPercentile}th percentile of decision confidence).`,
    '',
    `**Tested on the test half only** (${t.instances} prompts, ${t.decided} decided; accuracy ${pct(t.accuracy)}, savings ${t.savingsPercent === null ? 'n/a' : `${t.savingsPercent.toFixed(1)}%`}; split at confidence ${t.splitConfidence === null ? 'n/a' : t.splitConfidence.toFixed(4)}, the chosen percentile of this half's own decision confidence):`,
    '',
    `- Compliance accuracy, uncertain vs confident (Fisher's exact test, Newcombe's interval): uncertain ${counts(t.uncertain)} correct, confident ${counts(t.confident)} correct; ${gapText(t)}; n = ${(t.uncertain?.n ?? 0) + (t.confident?.n ?? 0)} compliance prompts.`,
  ];
  if (t.untestable !== null) out.push(`- ${t.untestable}`);
  const primary = t.statements.find((x) => x.role === 'primary');
  if (primary && t.primary !== 'compliance-accuracy')
    out.push(`- Declared primary test (${t.primaryDescription}): ${primary.text}`);
  return out;
}

/** The `## Selected on one half, tested on the other` section of sweep.md. */
export function selectionMarkdown(s: HalfSelectionReport): string[] {
  const out = [
    '## Selected on one half, tested on the other',
    '',
    `The prompts were split by a seeded shuffle (seed ${s.split.seed}, stratified by ${s.split.stratifiedBy.join(' and ')}) into a **selection half** of ${s.split.selection.length} prompts and a **test half** of ${s.split.test.length}: disjoint, together every prompt. ` +
      `Every setting below was replayed on the selection half alone, as if the run had had only those prompts, and the setting was chosen there by ${s.criterionDescription}. ` +
      'The chosen setting was then replayed on the test half alone; the test half never informed the choice, so its result is not tuned on its own data. ' +
      'The sweep table above covers all prompts and is descriptive only.',
    '',
    ...testSection(s),
    '',
    `### The selection half (${s.split.selection.length} prompts): every setting`,
    '',
    ...selectionTable(s),
    '',
  ];
  if (s.notes.length > 0 && s.test !== null) out.push(...s.notes.map((n) => `- ${n}`), '');
  return out;
}
