import { readFile as fsReadFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { detectRefusal } from './detect.js';
import type { RefusalLabel, RefusalResult } from './detect.js';
import { EvaluationFileError } from './errors.js';

export const LABELS: readonly RefusalLabel[] = ['compliance', 'refusal', 'partial_refusal'];

/** One labelled response. `row` is the 1-based data row number in the file (header excluded). */
export type LabelledRow = {
  row: number;
  id: string;
  prompt: string | null;
  completion: string;
  gold: RefusalLabel;
  /** Value of the group column (XSTest `type` by default); null when the file has no such column. */
  group?: string | null;
};

/** What one response came out as: enough to recompute any metric, resample it or break it down by group. */
export type Outcome = { source: string; id: string; gold: RefusalLabel; predicted: RefusalLabel; group: string | null };

export type Misclassified = LabelledRow & { predicted: RefusalLabel; score: number; evidence: string[] };

export type BinaryMetrics = {
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
};

export type EvaluationResult = {
  /** File the rows came from (or a caller-chosen name). */
  source: string;
  n: number;
  /** Refusal = full or partial refusal, as in XSTest reporting. */
  binary: BinaryMetrics;
  /** Exact agreement on compliance / refusal / partial refusal. */
  threeClassAccuracy: number;
  /** confusion[gold][predicted] counts. */
  confusion: Record<RefusalLabel, Record<RefusalLabel, number>>;
  misclassified: Misclassified[];
  /** One entry per row, in file order (pooled results: every file's rows, each naming its source). */
  outcomes: Outcome[];
};

export type Classifier = (completion: string, row: LabelledRow) => RefusalResult | Promise<RefusalResult>;

export type EvaluateOptions = {
  /** Column holding the response text. Default `completion`. */
  completionColumn?: string;
  /** Column holding the gold label. Default `final_label`. */
  labelColumn?: string;
  /** Column used to name rows in the misclassified list. Default `id` (row number when absent). */
  idColumn?: string;
  /** Column with the prompt, passed to the detector and to judges. Default `prompt` (optional in the file). */
  promptColumn?: string;
  /** Column to break results down by (`--by`). Default `type` (XSTest); optional unless `requireGroupColumn`. */
  groupColumn?: string;
  /** Fail, naming the file, when `groupColumn` is missing (the caller asked for a breakdown). */
  requireGroupColumn?: boolean;
  /** Classifier to evaluate; default `detectRefusal`. */
  classify?: Classifier;
  /** Injected file reader (tests). */
  readFile?: (path: string) => Promise<string>;
};

const LABEL_ALIASES: Record<string, RefusalLabel> = {
  '1_full_compliance': 'compliance',
  full_compliance: 'compliance',
  compliance: 'compliance',
  '2_full_refusal': 'refusal',
  full_refusal: 'refusal',
  refusal: 'refusal',
  '3_partial_refusal': 'partial_refusal',
  partial_refusal: 'partial_refusal',
  partial: 'partial_refusal',
};

/** Map a gold label as written in XSTest-style files to ours; null when unknown. */
export function parseGoldLabel(raw: string): RefusalLabel | null {
  return LABEL_ALIASES[raw.trim().toLowerCase()] ?? null;
}

/** Parse a labelled CSV into rows; every bad row is reported, none is dropped. */
export function parseLabelledCsv(csvText: string, source: string, options: EvaluateOptions = {}): LabelledRow[] {
  const completionColumn = options.completionColumn ?? 'completion';
  const labelColumn = options.labelColumn ?? 'final_label';
  const idColumn = options.idColumn ?? 'id';
  const promptColumn = options.promptColumn ?? 'prompt';
  const groupColumn = options.groupColumn ?? 'type';
  let records: Record<string, string>[];
  try {
    records = parse(csvText, { columns: true, skip_empty_lines: true, bom: true, relax_column_count: false }) as Record<
      string,
      string
    >[];
  } catch (err) {
    throw new EvaluationFileError(
      `${source}: not a valid CSV (${(err as Error).message}). Check quoting of multi-line completions.`,
      source,
    );
  }
  if (records.length === 0)
    throw new EvaluationFileError(`${source}: no data rows; expected a header and labelled rows.`, source);
  const header = Object.keys(records[0]!);
  const required =
    options.requireGroupColumn === true
      ? [completionColumn, labelColumn, groupColumn]
      : [completionColumn, labelColumn];
  for (const col of required) {
    if (!header.includes(col)) {
      throw new EvaluationFileError(
        `${source}: missing column "${col}" (found: ${header.join(', ')}). Pass --completion-column / --label-column / --by with the column's name.`,
        source,
      );
    }
  }
  const bad: string[] = [];
  const rows: LabelledRow[] = [];
  records.forEach((rec, i) => {
    const row = i + 1;
    const rawLabel = rec[labelColumn] ?? '';
    const gold = parseGoldLabel(rawLabel);
    if (gold === null) {
      bad.push(`row ${row}: label "${rawLabel.slice(0, 40)}" is not one of ${Object.keys(LABEL_ALIASES).join(', ')}`);
      return;
    }
    rows.push({
      row,
      id: (rec[idColumn] ?? '').trim() || String(row),
      prompt: header.includes(promptColumn) ? (rec[promptColumn] ?? null) : null,
      completion: rec[completionColumn] ?? '',
      gold,
      group: header.includes(groupColumn) ? (rec[groupColumn] ?? '').trim() : null,
    });
  });
  if (bad.length > 0) {
    const first = bad.slice(0, 5).join('; ');
    throw new EvaluationFileError(
      `${source}: ${bad.length} row(s) with an unknown label (${first}${bad.length > 5 ? '; …' : ''}). Fix or remove those rows.`,
      source,
      records.findIndex((r) => parseGoldLabel(r[labelColumn] ?? '') === null) + 1,
    );
  }
  return rows;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** The detector as evaluated by default: it sees the prompt whenever the file has one. */
export const detectWithPrompt: Classifier = (text, row) =>
  detectRefusal(text, row.prompt === null ? {} : { prompt: row.prompt });

/** Score labelled rows with a classifier and compute binary and 3-class metrics. */
export async function evaluateRows(
  rows: readonly LabelledRow[],
  source: string,
  classify: Classifier = detectWithPrompt,
): Promise<EvaluationResult> {
  const confusion = Object.fromEntries(
    LABELS.map((g) => [g, Object.fromEntries(LABELS.map((p) => [p, 0]))]),
  ) as EvaluationResult['confusion'];
  const misclassified: Misclassified[] = [];
  const outcomes: Outcome[] = [];
  let tp = 0,
    fp = 0,
    fn = 0,
    tn = 0,
    exact = 0;
  for (const row of rows) {
    const r = await classify(row.completion, row);
    confusion[row.gold][r.label]++;
    outcomes.push({ source, id: row.id, gold: row.gold, predicted: r.label, group: row.group ?? null });
    const goldRefused = row.gold !== 'compliance';
    if (goldRefused && r.refused) tp++;
    else if (!goldRefused && r.refused) fp++;
    else if (goldRefused && !r.refused) fn++;
    else tn++;
    if (r.label === row.gold) exact++;
    else misclassified.push({ ...row, predicted: r.label, score: r.score, evidence: r.evidence.map((e) => e.pattern) });
  }
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    source,
    n: rows.length,
    binary: {
      precision,
      recall,
      f1: ratio(2 * precision * recall, precision + recall),
      accuracy: ratio(tp + tn, rows.length),
      tp,
      fp,
      fn,
      tn,
    },
    threeClassAccuracy: ratio(exact, rows.length),
    confusion,
    misclassified,
    outcomes,
  };
}

/** Pool several evaluations (e.g. one per file) into one: counts add up, metrics are recomputed. */
export function mergeEvaluations(results: readonly EvaluationResult[], source = 'combined'): EvaluationResult {
  const confusion = Object.fromEntries(
    LABELS.map((g) => [g, Object.fromEntries(LABELS.map((p) => [p, 0]))]),
  ) as EvaluationResult['confusion'];
  let tp = 0,
    fp = 0,
    fn = 0,
    tn = 0,
    n = 0,
    exact = 0;
  for (const r of results) {
    for (const g of LABELS) for (const p of LABELS) confusion[g][p] += r.confusion[g][p];
    tp += r.binary.tp;
    fp += r.binary.fp;
    fn += r.binary.fn;
    tn += r.binary.tn;
    n += r.n;
    exact += LABELS.reduce((acc, l) => acc + r.confusion[l][l], 0);
  }
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    source,
    n,
    binary: {
      precision,
      recall,
      f1: ratio(2 * precision * recall, precision + recall),
      accuracy: ratio(tp + tn, n),
      tp,
      fp,
      fn,
      tn,
    },
    threeClassAccuracy: ratio(exact, n),
    confusion,
    misclassified: results.flatMap((r) => r.misclassified.map((m) => ({ ...m, id: `${r.source}:${m.id}` }))),
    outcomes: results.flatMap((r) => r.outcomes),
  };
}

/** Read a labelled CSV (columns `completion`, `final_label` by default) and evaluate the detector on it. */
export async function evaluateRefusalFile(path: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const read = options.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    throw new EvaluationFileError(
      `${path}: cannot read the labelled file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path.`,
      path,
    );
  }
  const rows = parseLabelledCsv(text, path, options);
  return evaluateRows(rows, path, options.classify);
}

export type FormatOptions = {
  /** How many misclassified rows to list (default all). */
  maxErrors?: number;
  /** Characters of each misclassified completion to show (default 160). */
  excerptChars?: number;
};

const pct = (x: number): string => x.toFixed(3);
const SHORT: Record<RefusalLabel, string> = {
  compliance: 'compliance',
  refusal: 'refusal',
  partial_refusal: 'partial',
};

/** Plain-text report: metrics, confusion matrix, then the misclassified rows for error analysis. */
export function formatEvaluation(result: EvaluationResult, options: FormatOptions = {}): string {
  const { binary: b } = result;
  const excerptChars = options.excerptChars ?? 160;
  const lines = [
    `Refusal detection on ${result.source} (${result.n} rows; refusal = full or partial)`,
    `  precision ${pct(b.precision)}  recall ${pct(b.recall)}  F1 ${pct(b.f1)}  accuracy ${pct(b.accuracy)}  3-class accuracy ${pct(result.threeClassAccuracy)}`,
    `  TP ${b.tp}  FP ${b.fp}  FN ${b.fn}  TN ${b.tn}`,
    '',
    'Confusion matrix (rows = gold, columns = predicted):',
    `  ${''.padEnd(12)}${LABELS.map((l) => SHORT[l].padStart(12)).join('')}`,
    ...LABELS.map(
      (g) => `  ${SHORT[g].padEnd(12)}${LABELS.map((p) => String(result.confusion[g][p]).padStart(12)).join('')}`,
    ),
  ];
  const shown = result.misclassified.slice(0, options.maxErrors ?? result.misclassified.length);
  lines.push(
    '',
    `Misclassified rows: ${result.misclassified.length}${shown.length < result.misclassified.length ? ` (showing ${shown.length})` : ''}`,
  );
  for (const m of shown) {
    const excerpt = m.completion.replace(/\s+/g, ' ').trim();
    lines.push(
      `  row ${m.row} [${m.id}] gold=${SHORT[m.gold]} predicted=${SHORT[m.predicted]} score=${m.score.toFixed(2)} evidence=${m.evidence.join(',') || '-'}`,
      `    ${JSON.stringify(excerpt.length > excerptChars ? `${excerpt.slice(0, excerptChars)}…` : excerpt)}`,
    );
  }
  return lines.join('\n');
}
