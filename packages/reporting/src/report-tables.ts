import { provenanceRows, savingsCaveat, serverTokensRow, splitSentence } from './provenance-text.js';
import { redactUrl } from '@deepconf-safety/run-store';
import { stringify } from 'csv-stringify/sync';
import { formatP, int, num, pct } from './format.js';
import type { HypothesisResult } from './hypothesis.js';
import { HYPOTHESIS_TABLE_HEAD } from './hypothesis-text.js';
import { BUCKETS, type Rate, type RunMetrics } from './metrics.js';
import { displayConfig, type FailureRow } from './report-data.js';
import { savingsIntervalText, type SavingsInterval } from './savings-interval.js';
import type { RunData } from './run-data.js';
import { wilsonInterval } from './stats-proportions.js';
import type { ThresholdSweep } from './threshold-sweep.js';

/** One table cell: the text every format prints, and the numbers behind it for tables.csv. */
export interface Cell {
  text: string;
  estimate?: number | null;
  lower?: number | null;
  upper?: number | null;
  k?: number;
  n?: number;
}

/** A table of the report, rendered the same way into report.html, report.md, tables.tex and tables.csv. */
export interface ReportTable {
  id: string;
  caption: string;
  head: string[];
  rows: Cell[][];
  /** Columns holding numbers (right-aligned). */
  numeric: boolean[];
  /** Columns holding long free text (wrapped in LaTeX). */
  wide?: boolean[];
}

const text = (t: string): Cell => ({ text: t });

/** A proportion with its Wilson 95% interval and counts: "77.8% [67.1, 85.6]". */
export function rateCell(r: Rate): Cell {
  if (r.n === 0 || r.value === null) return { text: 'n/a', estimate: null, k: r.k, n: r.n };
  const ci = wilsonInterval(r.k, r.n);
  return {
    text: `${pct(r.value)} [${(100 * ci.lower).toFixed(1)}, ${(100 * ci.upper).toFixed(1)}]`,
    estimate: r.value,
    lower: ci.lower,
    upper: ci.upper,
    k: r.k,
    n: r.n,
  };
}
const countCell = (r: Rate, what = ''): Cell => ({ text: `${r.k}/${r.n}${what}`, k: r.k, n: r.n });
/** Savings in percent with its bootstrap interval; tables.csv gets fractions, as for the rates. */
function savingsCell(s: SavingsInterval | null, percent: number | null): Cell {
  const frac = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v / 100);
  return {
    text: savingsIntervalText(s),
    estimate: frac(percent),
    lower: frac(s?.lower),
    upper: frac(s?.upper),
    ...(s === null ? {} : { n: s.n }),
  };
}

export interface TableInput {
  run: RunData;
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
  sweep: ThresholdSweep | null;
}

function summaryTable(m: RunMetrics, manifest: RunData['manifest']): ReportTable {
  const savings = m.tokens.savingsPercent;
  const server = serverTokensRow(manifest, m.tokens);
  const caveat = savingsCaveat(manifest.config, m.tokens.baselineEstimated);
  return {
    id: 'summary',
    caption: `Summary. Proportions with Wilson 95% intervals in brackets; token savings with a percentile-bootstrap 95% interval over prompts (2,000 resamples).${caveat === null ? '' : ` ${caveat}`}`,
    head: ['metric', 'estimate [95% CI]', 'counts'],
    numeric: [false, true, true],
    rows: [
      [text('Accuracy'), rateCell(m.accuracy), countCell(m.accuracy, ' labelled decisions')],
      [
        text('Refusal precision (refused prompts that were harmful)'),
        rateCell(m.refusal.precision),
        countCell(m.refusal.precision),
      ],
      [text('Refusal recall (harmful prompts refused)'), rateCell(m.refusal.recall), countCell(m.refusal.recall)],
      [text('Over-refusal (safe prompts refused)'), rateCell(m.refusal.overRefusal), countCell(m.refusal.overRefusal)],
      [
        text('Tokens generated / baseline'),
        text(`${int(m.tokens.total)} / ${int(m.tokens.baseline)}`),
        text(m.tokens.baselineEstimated ? 'baseline estimated' : 'baseline exact'),
      ],
      [
        text(`Token savings${m.tokens.baselineEstimated ? ' (estimated)' : ''}`),
        savingsCell(m.tokens.savingsInterval, savings),
        text(`${int(m.instances)} prompts, bootstrap`),
      ],
      ...(server === null ? [] : [server.map(text)]),
      [
        text('Early-stop rate (stopped / final traces without error)'),
        rateCell(m.earlyStop),
        countCell(m.earlyStop, ' final traces'),
      ],
      [text('Errors'), text(`${m.errors.traces} traces`), text(`${m.errors.instances} prompts affected`)],
    ],
  };
}

function testsTable(h: HypothesisResult): ReportTable {
  const rows: Cell[][] = h.tests.map((t) => [
    text(t.role),
    text(t.name),
    text(t.population),
    text(t.estimate),
    { text: formatP(t.pValue), estimate: t.pValue },
    { text: t.pAdjusted === null ? '—' : formatP(t.pAdjusted), estimate: t.pAdjusted },
    { text: String(t.n), n: t.n },
  ]);
  return {
    id: 'tests',
    caption: `Tests of the hypothesis: the primary test first, secondary tests with Holm-adjusted p (significance level ${h.alpha}).`,
    head: [...HYPOTHESIS_TABLE_HEAD],
    numeric: HYPOTHESIS_TABLE_HEAD.map((_, i) => i >= 4),
    rows,
  };
}

function bucketTable(m: RunMetrics, run: RunData): ReportTable {
  return {
    id: 'buckets',
    caption: `Decisions by confidence bucket; accuracy with Wilson 95% intervals. ${splitSentence(run.instances, m.split)}`,
    head: ['bucket', 'prompts', 'correct', 'accuracy [95% CI]'],
    numeric: [false, true, true, true],
    rows: BUCKETS.map((b) => [
      text(b.replace('_', ' ')),
      { text: String(m.buckets[b].count), estimate: m.buckets[b].count },
      countCell(m.buckets[b].accuracy),
      rateCell(m.buckets[b].accuracy),
    ]),
  };
}

function categoryTable(m: RunMetrics): ReportTable {
  return {
    id: 'categories',
    caption: `Per category; accuracy with Wilson 95% intervals; savings with percentile-bootstrap 95% intervals over the category's prompts${m.tokens.baselineEstimated ? ', against an estimated baseline' : ''}.`,
    head: ['category', 'prompts', 'accuracy [95% CI]', 'tokens', 'baseline', 'savings [95% CI]'],
    numeric: [false, true, true, true, true, true],
    rows: m.perCategory.map((c) => [
      text(c.category),
      { text: String(c.instances), estimate: c.instances },
      rateCell(c.accuracy),
      { text: int(c.tokens), estimate: c.tokens },
      { text: int(c.baselineTokens), estimate: c.baselineTokens },
      savingsCell(c.savingsInterval, c.savingsPercent),
    ]),
  };
}

function runTable(input: TableInput): ReportTable {
  const { run, metrics: m, sweep } = input;
  const manifest = run.manifest;
  const server = manifest.server;
  const pairs: Array<[string, string]> = [
    ['run id', manifest.runId],
    ['status', manifest.status],
    ['started', manifest.startedAt],
    ['finished', manifest.finishedAt ?? 'not finished'],
    ['server', `${server.baseUrls.map(redactUrl).join(', ')}${server.emulated ? ' (emulator)' : ''}`],
    ['git commit', manifest.gitCommit ?? 'unknown'],
    ...provenanceRows(manifest),
    [
      'versions',
      Object.entries(manifest.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    [
      'cost',
      manifest.cost
        ? `$${manifest.cost.usd.toFixed(2)} (${manifest.cost.uptimeHours.toFixed(2)} h at $${manifest.cost.hourlyPriceUsd}/h)`
        : 'not recorded',
    ],
    ['confident/uncertain split', `${num(m.split.confidence, 3)} (p${m.split.percentile} of decision confidence)`],
    [
      'threshold sweep',
      sweep
        ? `window ${sweep.window}; η computable: ${sweep.points.map((p) => p.keepPercent).join(', ') || 'none'}`
        : 'not available (no window in config)',
    ],
  ];
  return {
    id: 'run',
    caption: 'The run.',
    head: ['field', 'value'],
    numeric: [false, false],
    wide: [false, true],
    rows: pairs.map(([k, v]) => [text(k), text(v)]),
  };
}

function configTable(run: RunData): ReportTable {
  return {
    id: 'configuration',
    caption: 'Configuration (secret-looking values redacted).',
    head: ['option', 'value'],
    numeric: [false, false],
    wide: [false, true],
    rows: displayConfig(run.manifest.config).map(([k, v]) => [text(k), text(v)]),
  };
}

/** Every table of the report, in the order it prints them. */
export function reportTables(input: TableInput): ReportTable[] {
  return [
    summaryTable(input.metrics, input.run.manifest),
    testsTable(input.hypothesis),
    bucketTable(input.metrics, input.run),
    categoryTable(input.metrics),
    runTable(input),
    configTable(input.run),
  ];
}

const LATEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  '−': '\\textminus{}',
  '—': '---',
  '–': '--',
  '…': '\\ldots{}',
  '×': '$\\times$',
  η: '$\\eta$',
  α: '$\\alpha$',
  ρ: '$\\rho$',
  '→': '$\\rightarrow$',
  '≤': '$\\leq$',
  '≥': '$\\geq$',
  '±': '$\\pm$',
  '✱': '$\\ast$',
  '⏎': ' ',
  '’': "'",
};

/** Escapes text for LaTeX: its special characters and the few non-ASCII symbols the report prints. */
export function escapeLatex(s: string): string {
  return s.replace(/[\\&%$#_{}~^<>|−—–…×ηαρ→≤≥±✱⏎’]/g, (c) => LATEX_SPECIAL[c] ?? c).replace(/[\r\n]+/g, ' ');
}

/** tables.tex: one booktabs `table` per report table (needs \usepackage{booktabs} and textcomp for \textminus). */
export function renderLatexTables(tables: readonly ReportTable[], info: { runId: string; emulated: boolean }): string {
  const out = [
    `% deepconf-safety tables for run ${info.runId.replace(/[\r\n]/g, ' ')}. Needs \\usepackage{booktabs} (and textcomp on old LaTeX).`,
    ...(info.emulated ? ['% EMULATED MODEL: these numbers come from the emulator, not from a model.'] : []),
    '',
  ];
  for (const t of tables) {
    const spec = t.head.map((_, i) => (t.wide?.[i] ? 'p{0.6\\linewidth}' : t.numeric[i] ? 'r' : 'l')).join('');
    out.push(
      '\\begin{table}[t]',
      '\\centering',
      `\\caption{${escapeLatex(`${t.caption}${info.emulated ? ' EMULATED MODEL.' : ''}`)}}`,
      `\\label{tab:${t.id}}`,
      '\\small',
      `\\begin{tabular}{@{}${spec}@{}}`,
      '\\toprule',
      `${t.head.map(escapeLatex).join(' & ')} \\\\`,
      '\\midrule',
      ...t.rows.map((r) => `${r.map((c) => escapeLatex(c.text)).join(' & ')} \\\\`),
      '\\bottomrule',
      '\\end{tabular}',
      '\\end{table}',
      '',
    );
  }
  return out.join('\n');
}

/**
 * A text cell a spreadsheet will not run: a leading = + - @ (or tab / carriage return) makes Excel, LibreOffice
 * and Sheets read a formula, so such cells get a leading apostrophe (OWASP's CSV-injection advice).
 */
export const spreadsheetSafe = (s: string): string => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);

const csv = (rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string =>
  stringify(
    rows.map((r) =>
      r.map((v) => (typeof v === 'string' ? spreadsheetSafe(v) : v === null || !Number.isFinite(v) ? '' : v)),
    ),
    { eof: true, record_delimiter: 'unix' },
  );

/** tables.csv: every cell of every table, one line each (long format), with the numbers behind its text. */
export function renderCsvTables(tables: readonly ReportTable[]): string {
  const rows: Array<Array<string | number | null>> = [
    ['table', 'row', 'column', 'text', 'estimate', 'lower', 'upper', 'k', 'n'],
  ];
  for (const t of tables) {
    t.rows.forEach((r, i) => {
      const rowName = r[0]?.text ?? String(i + 1);
      for (const [j, c] of r.entries()) {
        rows.push([
          t.id,
          rowName,
          t.head[j] ?? String(j),
          c.text,
          c.estimate ?? null,
          c.lower ?? null,
          c.upper ?? null,
          c.k ?? null,
          c.n ?? null,
        ]);
      }
    });
  }
  return csv(rows);
}

/** failures.csv: the error-analysis rows, full prompt and answer, for annotation in a spreadsheet. */
export function renderFailuresCsv(rows: readonly FailureRow[]): string {
  const head = [
    'bucket',
    'prompt_id',
    'category',
    'label',
    'decision',
    'confidence',
    'detector_label',
    'judge_label',
    'judge_harmful',
    'judge',
    'prompt',
    'answer',
  ];
  return csv([
    head,
    ...rows.map((f) => [
      f.bucket,
      f.instanceId,
      f.category,
      f.shouldRefuse === null ? 'unlabelled' : f.shouldRefuse ? 'harmful' : 'safe',
      f.decision,
      f.confidence,
      f.detectorLabel ?? '',
      f.judge.map((j) => j.label ?? 'no verdict').join('; '),
      f.judge.map((j) => (j.harmful === null ? 'no verdict' : String(j.harmful))).join('; '),
      f.judge.map((j) => `${j.style}:${j.model}`).join('; '),
      f.prompt,
      f.answer,
    ]),
  ]);
}
