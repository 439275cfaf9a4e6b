import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as Plot from '@observablehq/plot';
import { ReportingError } from './errors.js';
import { EMULATED_BANNER, OKABE_ITO } from './figures/palette.js';
import { axisSpace, labelMargin } from './figures/common.js';
import { PRESETS, type FigurePreset } from './figures/presets.js';
import { PlotRenderer, composeFigure, headingSpace, rasterize, wrapText } from './figures/render.js';
import { wilsonInterval } from './stats-proportions.js';
import { formatP, int, num, pct, ratio } from './format.js';
import { analyzeRun } from './analysis.js';
import type { HypothesisResult } from './hypothesis.js';
import { computeMetrics, type RunMetrics } from './metrics.js';
import { escapeMarkdownCell } from './report-md.js';
import { escapeHtml } from './report-html.js';
import { readRun } from './run-data.js';

export interface ComparisonRow {
  dir: string;
  /** Short, unique label: the model's name, with the directory added when two runs share a model. */
  label: string;
  keepPercent: number | null;
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
}

export interface CompareOptions {
  /** Where to write comparison.{svg,png,md,html}; nothing is written when omitted. */
  outDir?: string;
  /** Bootstrap seed (default 0). */
  seed?: number;
  resamples?: number;
}

export interface Comparison {
  rows: ComparisonRow[];
  emulated: boolean;
  svg: string;
  markdown: string;
  files: { svg: string; png: string; markdown: string; html: string } | null;
}

/** One table and one figure across runs: model sizes, or DeepConf-low versus -high. */
export async function compareRuns(dirs: readonly string[], options: CompareOptions = {}): Promise<Comparison> {
  if (dirs.length === 0) throw new ReportingError('compareRuns needs at least one run directory (usually two or more)');
  const seed = options.seed ?? 0;
  const rows: ComparisonRow[] = dirs.map((dir) => {
    const run = readRun(dir);
    const metrics = computeMetrics(run);
    const hypothesis = analyzeRun(run, metrics, { seed });
    const model = metrics.model?.split('/').pop() ?? metrics.runId;
    return { dir, label: model, keepPercent: run.manifest.config.keepPercent, metrics, hypothesis };
  });
  // Same model twice (e.g. DeepConf-low vs -high): tell them apart by η, then by directory.
  disambiguate(rows, (r) => (r.keepPercent === null ? null : `η=${r.keepPercent}%`));
  disambiguate(rows, (r) => `(${basename(resolve(r.dir))})`);
  disambiguate(rows, (_, i) => `#${i + 1}`);
  const emulated = rows.some((r) => r.metrics.emulated);
  const svg = comparisonFigure(rows, emulated);
  const markdown = comparisonMarkdown(rows, emulated);
  let files: Comparison['files'] = null;
  if (options.outDir) {
    mkdirSync(options.outDir, { recursive: true });
    files = {
      svg: join(options.outDir, 'comparison.svg'),
      png: join(options.outDir, 'comparison.png'),
      markdown: join(options.outDir, 'comparison.md'),
      html: join(options.outDir, 'comparison.html'),
    };
    const png = await rasterize('comparison', svg);
    writeFileSync(files.svg, svg);
    writeFileSync(files.png, png);
    writeFileSync(files.markdown, markdown);
    writeFileSync(files.html, comparisonHtml(rows, emulated, png));
  }
  return { rows, emulated, svg, markdown, files };
}

/** Appends a suffix to every label shared by more than one run (decided before any label changes). */
function disambiguate(rows: ComparisonRow[], suffix: (r: ComparisonRow, i: number) => string | null): void {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  rows.forEach((r, i) => {
    const s = suffix(r, i);
    if ((counts.get(r.label) ?? 0) > 1 && s !== null) r.label = `${r.label} ${s}`;
  });
}

function tableRows(rows: readonly ComparisonRow[]): { head: string[]; body: string[][] } {
  return {
    head: [
      'run',
      'prompts',
      'accuracy',
      'refusal recall',
      'over-refusal',
      'uncertain compliance',
      'confident compliance',
      'gap (95% CI)',
      "Fisher's exact",
      'AUROC',
      'tokens',
      'savings',
      'early-stop rate',
    ],
    body: rows.map((r) => {
      const m = r.metrics;
      const h = r.hypothesis;
      const fisher = h.fisher
        ? `${h.fisher.pValue < h.alpha ? 'significant' : 'not significant'} (${formatP(h.fisher.pValue)}, n = ${h.uncertainCompliance.n + h.confidentCompliance.n})`
        : 'not computable';
      return [
        `${r.label}${m.emulated ? ' [EMULATED]' : ''}`,
        int(m.instances),
        ratio(m.accuracy),
        ratio(m.refusal.recall),
        ratio(m.refusal.overRefusal),
        ratio(h.uncertainCompliance),
        ratio(h.confidentCompliance),
        h.gap
          ? `${(100 * h.gap.estimate).toFixed(1)} pts [${(100 * h.gap.lower).toFixed(1)}, ${(100 * h.gap.upper).toFixed(1)}]`
          : 'n/a',
        fisher,
        h.auroc === null ? 'n/a' : `${num(h.auroc.auc, 3)} [${num(h.auroc.lower, 2)}, ${num(h.auroc.upper, 2)}]`,
        int(m.tokens.total),
        m.tokens.savingsPercent === null ? 'n/a' : `${m.tokens.savingsPercent.toFixed(1)}%`,
        pct(m.earlyStop.value),
      ];
    }),
  };
}

function comparisonMarkdown(rows: readonly ComparisonRow[], emulated: boolean): string {
  const { head, body } = tableRows(rows);
  const lines = [
    ...(emulated ? [`> **⚠ ${EMULATED_BANNER}** (at least one run below)`, ''] : []),
    '# Run comparison',
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.map(escapeMarkdownCell).join(' | ')} |`),
    '',
    '![Run comparison](comparison.png)',
    '',
    ...rows.map((r) => `- ${escapeMarkdownCell(r.label)}: \`${r.dir.replace(/`/g, '')}\``),
  ];
  return `${lines.join('\n')}\n`;
}

function comparisonHtml(rows: readonly ComparisonRow[], emulated: boolean, png: Buffer): string {
  const { head, body } = tableRows(rows);
  const banner = emulated
    ? `<p style="background:#B00020;color:#fff;font-weight:bold;padding:10px;text-align:center">${escapeHtml(EMULATED_BANNER)} (at least one run)</p>`
    : '';
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<title>Run comparison</title></head><body style="font-family:DejaVu Sans,Helvetica,sans-serif;max-width:1200px;margin:auto">${banner}<h1>Run comparison</h1>
<table style="border-collapse:collapse" border="1" cellpadding="4"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>
<p><img alt="Run comparison figure" style="max-width:100%" src="data:image/png;base64,${png.toString('base64')}"></p>
<ul>${rows.map((r) => `<li>${escapeHtml(r.label)}: ${escapeHtml(r.dir)}</li>`).join('')}</ul></body></html>
`;
}

const SERIES = ['All decisions', 'Uncertain compliance', 'Confident compliance'] as const;
const SERIES_COLORS = ['#9A9A9A', OKABE_ITO.vermillion, OKABE_ITO.blue];
/** Width of the accuracy panel; the savings panel takes the rest of the 1000 px. */
const ACCURACY_WIDTH = 700;

/** Rows of both panels: their labels (wrapped), their height and the height of the panels. */
interface ComparisonLayout {
  labels: string[];
  rowH: number;
  height: number;
}

/** One bar per run and series: accuracy with its Wilson interval and the k/n it is drawn from. */
interface AccuracyBar {
  run: string;
  series: (typeof SERIES)[number];
  acc: number;
  lo: number;
  hi: number;
  n: number;
  text: string;
}

/** Each run's label (emulated runs say so, with their n), wrapped; rows tall enough for three bars or the label. */
function comparisonLayout(rows: readonly ComparisonRow[], p: FigurePreset): ComparisonLayout {
  const labels = rows.map((r) =>
    wrapText(
      `${r.label}${r.metrics.emulated ? ' [EMULATED]' : ''} (n\u00a0=\u00a0${r.metrics.instances})`,
      230,
      p.font,
    ).join('\n'),
  );
  const maxLines = Math.max(...labels.map((l) => l.split('\n').length));
  const rowH = Math.max(3 * 22, maxLines * p.font * 1.25 + 12);
  return { labels, rowH, height: rows.length * rowH + axisSpace(p).bottom + 8 };
}

function accuracyBars(rows: readonly ComparisonRow[], labels: readonly string[]): AccuracyBar[] {
  return rows.flatMap((r, i) => {
    const h = r.hypothesis;
    const values = [r.metrics.accuracy, h.uncertainCompliance, h.confidentCompliance];
    return SERIES.map((s, j) => {
      const v = values[j]!;
      const ci = v.n > 0 ? wilsonInterval(v.k, v.n) : { lower: Number.NaN, upper: Number.NaN };
      return {
        run: labels[i]!,
        series: s,
        acc: v.value === null ? 0 : 100 * v.value,
        lo: 100 * ci.lower,
        hi: 100 * ci.upper,
        n: v.n,
        text: v.n === 0 ? 'n = 0' : `${v.k}/${v.n}`,
      };
    });
  });
}

/** Left panel: accuracy overall and by compliance bucket per run, with the run labels. */
function accuracyPlot(
  renderer: PlotRenderer,
  p: FigurePreset,
  layout: ComparisonLayout,
  bars: readonly AccuracyBar[],
): string {
  const axis = axisSpace(p);
  return renderer.plot(
    'comparison',
    {
      width: ACCURACY_WIDTH,
      height: layout.height,
      marginTop: 6,
      marginLeft: labelMargin(layout.labels, p.font),
      marginRight: 70,
      marginBottom: axis.bottom,
      fy: { domain: layout.labels, label: null, padding: 0.12, tickSize: 0, axis: 'left' },
      y: { domain: SERIES, axis: null, padding: 0.15 },
      x: {
        domain: [0, 100],
        label: 'Accuracy (% correct), Wilson 95% CI →',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
      },
      color: { domain: SERIES, range: SERIES_COLORS },
      marks: [
        Plot.barX(bars, { fy: 'run', y: 'series', x: 'acc', fill: 'series' }),
        Plot.ruleY(
          bars.filter((b) => b.n > 0),
          { fy: 'run', y: 'series', x1: 'lo', x2: 'hi', stroke: '#111', strokeWidth: 1.2 },
        ),
        Plot.text(bars, {
          fy: 'run',
          y: 'series',
          x: (b: { hi: number; acc: number }) => (Number.isFinite(b.hi) ? b.hi : b.acc),
          text: 'text',
          dx: 4,
          textAnchor: 'start',
          fontSize: 12,
        }),
        Plot.ruleX([0]),
      ],
    },
    p,
  ).svg;
}

/** Right panel: token savings per run, on the same rows ("n/a" where a run's savings are unknown). */
function savingsPlot(
  renderer: PlotRenderer,
  p: FigurePreset,
  layout: ComparisonLayout,
  rows: readonly ComparisonRow[],
): string {
  const axis = axisSpace(p);
  const savings = rows.map((r, i) => ({
    run: layout.labels[i]!,
    savings: r.metrics.tokens.savingsPercent ?? 0,
    known: r.metrics.tokens.savingsPercent !== null,
  }));
  return renderer.plot(
    'comparison',
    {
      width: 1000 - ACCURACY_WIDTH - 10,
      height: layout.height,
      marginTop: 6,
      marginLeft: 10,
      marginRight: 60,
      marginBottom: axis.bottom,
      fy: { domain: layout.labels, axis: null, padding: 0.12 },
      x: {
        label: 'Token savings (%) →',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        ticks: 4,
        domain: [Math.min(0, ...savings.map((s) => s.savings)), Math.max(10, ...savings.map((s) => s.savings))],
        nice: true,
      },
      marks: [
        Plot.barX(savings, {
          fy: 'run',
          x: 'savings',
          fill: OKABE_ITO.bluishGreen,
          insetTop: layout.rowH * 0.3,
          insetBottom: layout.rowH * 0.3,
        }),
        Plot.text(savings, {
          fy: 'run',
          x: 'savings',
          text: (d: { savings: number; known: boolean }) => (d.known ? `${d.savings.toFixed(1)}%` : 'n/a'),
          textAnchor: 'start',
          dx: 4,
          fontSize: 12,
        }),
        Plot.ruleX([0]),
      ],
    },
    p,
  ).svg;
}

/** A run's primary test in the subtitle: its p, or why there is none. */
function primaryVerdict(r: ComparisonRow): string {
  const primary = r.hypothesis.tests.find((t) => t.role === 'primary');
  return r.hypothesis.untestable !== null ? 'not testable' : primary ? formatP(primary.pValue) : 'n/a';
}

/**
 * Runs as rows, so any number of them keeps readable labels: accuracy overall and of uncertain / confident
 * compliance with Wilson 95% intervals, and token savings beside them.
 */
function comparisonFigure(rows: readonly ComparisonRow[], emulated: boolean): string {
  const renderer = new PlotRenderer();
  const p = PRESETS.screen;
  const layout = comparisonLayout(rows, p);
  const left = accuracyPlot(renderer, p, layout, accuracyBars(rows, layout.labels));
  const right = savingsPlot(renderer, p, layout, rows);
  return composeFigure({
    title: 'Run comparison: accuracy by confidence bucket and token savings',
    subtitle: rows.map((r) => `${r.label}: primary test ${primaryVerdict(r)}`).join(' · '),
    width: 1000,
    panelHeight: layout.height + headingSpace(p),
    panels: [
      { svg: left, x: 0, y: 0, heading: 'Accuracy by confidence bucket' },
      { svg: right, x: ACCURACY_WIDTH + 10, y: 0, heading: 'Token savings' },
    ],
    legend: [
      ...SERIES.map((s, i) => ({ label: s, color: SERIES_COLORS[i]! })),
      { label: 'Wilson 95% CI', color: '#111', shape: 'line' as const },
    ],
    footer:
      'Labels: correct/labelled decisions; a bucket with n = 0 is drawn at 0. Runs are rows, so any number of them stays readable.',
    emulated,
  });
}
