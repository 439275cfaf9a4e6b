import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlotRenderer, rasterize } from './figures/render.js';
import { EMULATED_BANNER } from './figures/palette.js';
import { formatP, int, pct } from './format.js';
import { escapeHtml } from './report-html.js';
import { escapeMarkdownCell } from './report-md.js';
import { readStudy, type StudyData } from './study-data.js';
import { accuracyTokensFigure, hypothesisGapFigure, type StudyFigure } from './study-figures.js';
import {
  analyzeStudy,
  type Estimate,
  type StudyAnalysis,
  type StudyAnalysisOptions,
  type StudyTable,
} from './study-stats.js';

// The study report: warnings first, then per benchmark a table of models x settings, the paired comparisons and
// two figures. Markdown and HTML are rendered from one list of blocks, so they cannot say different things.

type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'para'; text: string; alert?: boolean }
  | { kind: 'list'; items: string[]; alert?: boolean }
  /** `caption` says what the table holds; its first column names each row (HTML: <th scope="row">). */
  | { kind: 'table'; caption: string; header: string[]; rows: string[][] }
  | { kind: 'figure'; name: string; title: string; caption: string };

export interface GeneratedStudyReport {
  files: {
    html: string;
    markdown: string;
    summary: string;
    figures: Array<{ name: string; svg: string; png: string }>;
  };
  analysis: StudyAnalysis;
}

const interval = (e: Estimate, f: (v: number | null) => string = (v) => pct(v)): string =>
  e.value === null ? `n/a (n = ${e.n})` : `${f(e.value)} [${f(e.lower)}, ${f(e.upper)}] (n = ${e.n})`;
const points = (v: number | null): string => (v === null ? 'n/a' : `${(100 * v).toFixed(1)}`);
const tokens = (v: number | null): string => (v === null ? 'n/a' : int(v));

function rowsTable(t: StudyTable, reference: string): Block {
  return {
    kind: 'table',
    caption: `${t.benchmark}: every model × setting, pooled over its seeds. Each estimate with its 95% interval and its n (prompt × seed decisions; for compliance accuracy, the compliances on that side of the confidence split).`,
    header: [
      'model',
      'setting',
      'seeds',
      'prompts',
      'accuracy',
      'compliance acc. confident',
      'compliance acc. uncertain',
      'gap (points)',
      'savings',
      'tokens / prompt',
      'GPU-s',
      'cost',
    ],
    rows: t.rows.map((r) => [
      r.model + (r.emulated ? ' (emulated)' : ''),
      r.setting + (r.setting === reference ? ' (reference)' : ''),
      r.seeds.join(', '),
      String(r.prompts),
      interval(r.accuracy),
      interval(r.confidentCompliance),
      interval(r.uncertainCompliance),
      interval(r.gap, points),
      interval(r.savings),
      interval(r.tokensPerPrompt, tokens),
      r.gpuSeconds.toFixed(1),
      r.costUsd === null ? 'n/a' : `$${r.costUsd.toFixed(2)}`,
    ]),
  };
}

function comparisonsTable(t: StudyTable): Block {
  return {
    kind: 'table',
    caption: `${t.benchmark}: paired comparisons on the (prompt, seed) pairs both cells decided: McNemar's exact test on the discordant pairs, a paired bootstrap 95% interval of the accuracy difference, and Holm's adjustment over the ${t.comparisons.length} comparisons of this table.`,
    header: [
      'A',
      'B',
      'pairs (prompts)',
      'A right, B wrong',
      'A wrong, B right',
      'accuracy A − B [95% paired bootstrap]',
      "McNemar's exact p",
      'Holm-adjusted p',
    ],
    rows: t.comparisons.map((c) => [
      `${c.a.model} · ${c.a.setting}`,
      `${c.b.model} · ${c.b.setting}`,
      `${c.pairs} (${c.prompts})`,
      String(c.onlyA),
      String(c.onlyB),
      `${points(c.difference)} [${points(c.lower)}, ${points(c.upper)}] points`,
      formatP(c.pValue),
      formatP(c.pHolm),
    ]),
  };
}

function costBlock(data: StudyData, a: StudyAnalysis): Block {
  return {
    kind: 'table',
    caption:
      'Every cell: its state, endpoint, wall time, GPU-seconds (wall time divided among the cells that shared the endpoint), tokens generated and cost.',
    header: ['cell', 'state', 'endpoint', 'wall s', 'GPU-s', 'tokens', 'cost'],
    rows: [
      ...data.study.cells.map((c) => [
        c.id,
        c.state,
        c.endpoint ?? '',
        c.wallSeconds.toFixed(1),
        c.gpuSeconds.toFixed(1),
        c.tokens === null ? '' : int(c.tokens),
        c.costUsd === null ? 'n/a' : `$${c.costUsd.toFixed(2)}`,
      ]),
      [
        'total',
        `${a.totals.done}/${a.totals.cells} done`,
        '',
        a.totals.wallSeconds.toFixed(1),
        a.totals.gpuSeconds.toFixed(1),
        int(a.totals.tokens),
        a.totals.costUsd === null ? 'n/a (no price known)' : `$${a.totals.costUsd.toFixed(2)}`,
      ],
    ],
  };
}

const METHODS =
  "Accuracy: share of labelled prompts decided correctly; one seed: Wilson 95% interval; several: percentile bootstrap over prompts, a prompt's seeds resampled together. " +
  "Compliance accuracy: among compliances at or above (confident) or below (uncertain) each cell's confidence split, Wilson intervals over prompt×seed decisions; the gap is confident − uncertain with a Newcombe (method 10) interval. " +
  'Savings: 1 − tokens / baseline tokens (estimated for early-stopped traces unless the setting ran without early stop), bootstrap over prompts. ' +
  "Comparisons are paired on (prompt, seed): McNemar's exact test on the discordant pairs, a seeded paired bootstrap (prompts resampled whole) for the difference, and Holm's adjustment over every comparison of the table. " +
  'Tables never mix benchmarks.';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function blocksOf(data: StudyData, a: StudyAnalysis, figures: Map<string, StudyFigure[]>): Block[] {
  const s = data.study;
  // The emulated notice opens the report, before the title, as in a run's report.
  const blocks: Block[] = a.warnings.some((w) => w.kind === 'emulated')
    ? [{ kind: 'para', text: EMULATED_BANNER, alert: true }]
    : [];
  blocks.push({ kind: 'heading', level: 1, text: `Study ${s.name}` });
  if (a.warnings.length > 0)
    blocks.push(
      { kind: 'heading', level: 2, text: 'Warnings' },
      { kind: 'list', items: a.warnings.map((w) => w.text), alert: true },
    );
  blocks.push({
    kind: 'para',
    text: `${plural(s.grid.models.length, 'model')} × ${plural(s.grid.benchmarks.length, 'benchmark')} × ${plural(Object.keys(s.grid.settings).length, 'setting')} × ${plural(s.grid.seeds.length, 'seed')} = ${s.cells.length} cells (${a.totals.done} done, status ${s.status}). Reference setting: ${a.reference}. Settings: ${Object.entries(
      s.grid.settings,
    )
      .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
      .join('; ')}.`,
  });
  for (const t of a.tables) {
    blocks.push({ kind: 'heading', level: 2, text: `Benchmark ${t.benchmark}` });
    if (t.rows.length === 0) {
      blocks.push({ kind: 'para', text: 'No finished cell yet.' });
      continue;
    }
    blocks.push(rowsTable(t, a.reference), { kind: 'heading', level: 3, text: 'Paired comparisons' });
    blocks.push(
      t.comparisons.length > 0
        ? comparisonsTable(t)
        : { kind: 'para', text: 'Nothing to compare (one model and one setting).' },
    );
    for (const f of figures.get(t.benchmark) ?? [])
      blocks.push({ kind: 'figure', name: f.name, title: f.title, caption: f.caption });
  }
  blocks.push(
    { kind: 'heading', level: 2, text: 'Cells: time, GPU-seconds and cost' },
    costBlock(data, a),
    { kind: 'heading', level: 2, text: 'Methods' },
    { kind: 'para', text: METHODS },
  );
  return blocks;
}

function markdown(blocks: Block[]): string {
  const md = (b: Block): string => {
    switch (b.kind) {
      case 'heading':
        return `${'#'.repeat(b.level)} ${escapeMarkdownCell(b.text)}`;
      case 'para':
        return b.alert ? `> **${escapeMarkdownCell(b.text)}**` : escapeMarkdownCell(b.text);
      case 'list':
        return b.items.map((i) => `- ${b.alert ? '⚠ ' : ''}${escapeMarkdownCell(i)}`).join('\n');
      case 'table':
        return `*${escapeMarkdownCell(b.caption)}*\n\n${[b.header, b.header.map(() => '---'), ...b.rows]
          .map((r) => `| ${r.map(escapeMarkdownCell).join(' | ')} |`)
          .join('\n')}`;
      case 'figure':
        return `![${escapeMarkdownCell(b.title)}](figures/${b.name}.png)\n\n*${escapeMarkdownCell(b.caption)}*`;
    }
  };
  return `${blocks.map(md).join('\n\n')}\n`;
}

function htmlTable(b: Extract<Block, { kind: 'table' }>): string {
  const head = b.header.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const row = (r: string[]): string =>
    `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`;
  return `<table><caption>${escapeHtml(b.caption)}</caption><thead><tr>${head}</tr></thead><tbody>${b.rows.map(row).join('')}</tbody></table>`;
}

function html(blocks: Block[], title: string): string {
  const h = (b: Block): string => {
    switch (b.kind) {
      case 'heading':
        return `<h${b.level}>${escapeHtml(b.text)}</h${b.level}>`;
      case 'para':
        return b.alert ? `<p class="alert">${escapeHtml(b.text)}</p>` : `<p>${escapeHtml(b.text)}</p>`;
      case 'list':
        return `<ul${b.alert ? ' class="warnings"' : ''}>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
      case 'table':
        return htmlTable(b);
      case 'figure':
        return `<figure><img src="figures/${escapeHtml(b.name)}.png" alt="${escapeHtml(b.title)}" width="1000"><figcaption>${escapeHtml(b.caption)}</figcaption></figure>`;
    }
  };
  const css =
    'body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left}tbody th{font-weight:normal}caption{caption-side:top;text-align:left;font-size:13px;color:#333;padding:0 0 .4em}.alert{background:#B00020;color:#fff;padding:.5em;font-weight:bold}.warnings li{color:#8a1c00}img{max-width:100%}';
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${css}</style></head><body>${blocks.map(h).join('\n')}</body></html>\n`;
}

async function drawFigures(
  dir: string,
  data: StudyData,
  a: StudyAnalysis,
): Promise<{ byBenchmark: Map<string, StudyFigure[]>; files: GeneratedStudyReport['files']['figures'] }> {
  const renderer = new PlotRenderer();
  const emulated = data.cells.some((c) => c.emulated);
  const settings = Object.keys(data.study.grid.settings);
  const byBenchmark = new Map<string, StudyFigure[]>();
  const files: GeneratedStudyReport['files']['figures'] = [];
  mkdirSync(join(dir, 'figures'), { recursive: true });
  try {
    for (const t of a.tables.filter((x) => x.rows.length > 0)) {
      const figs = [
        accuracyTokensFigure(renderer, t, data.study.grid.models, settings, emulated),
        hypothesisGapFigure(renderer, t, data.study.grid.models, settings, emulated),
      ];
      byBenchmark.set(t.benchmark, figs);
      for (const f of figs) {
        const svg = join(dir, 'figures', `${f.name}.svg`);
        const png = join(dir, 'figures', `${f.name}.png`);
        writeFileSync(svg, f.svg);
        writeFileSync(png, await rasterize(f.name, f.svg));
        files.push({ name: f.name, svg, png });
      }
    }
  } finally {
    renderer.close();
  }
  return { byBenchmark, files };
}

/** Writes report.html, report.md, summary.json and figures/ into a study directory (reads only study.json and the cells' run stores). */
export async function generateStudyReport(
  dir: string,
  options: StudyAnalysisOptions = {},
): Promise<GeneratedStudyReport> {
  const data = readStudy(dir);
  const analysis = analyzeStudy(data, options);
  const { byBenchmark, files: figures } = await drawFigures(dir, data, analysis);
  const blocks = blocksOf(data, analysis, byBenchmark);
  const files = {
    html: join(dir, 'report.html'),
    markdown: join(dir, 'report.md'),
    summary: join(dir, 'summary.json'),
    figures,
  };
  writeFileSync(files.markdown, markdown(blocks));
  writeFileSync(files.html, html(blocks, `Study ${data.study.name}`));
  // The statistics without the wall-clock columns: equal for equal studies, however often they were resumed.
  const stable = analysis.tables.map((t) => ({
    ...t,
    rows: t.rows.map(({ wallSeconds: _w, gpuSeconds: _g, costUsd: _c, ...r }) => r),
  }));
  writeFileSync(files.summary, `${JSON.stringify({ tables: stable, warnings: analysis.warnings }, null, 1)}\n`);
  return { files, analysis };
}
