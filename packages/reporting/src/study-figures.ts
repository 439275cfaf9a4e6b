import * as Plot from '@observablehq/plot';
import { OKABE_ITO } from './figures/palette.js';
import { composeFigure, type PlotRenderer } from './figures/render.js';
import type { StudyRow, StudyTable } from './study-stats.js';

// Two figures per benchmark (never mixing benchmarks): accuracy against tokens per prompt, one panel per model and
// one point per setting; and the hypothesis gap (confident − uncertain compliance accuracy) per model and setting.

export interface StudyFigure {
  name: string;
  title: string;
  svg: string;
  caption: string;
}

const WIDTH = 1000;
const PALETTE = Object.values(OKABE_ITO);

const slug = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');
const colorOf =
  (settings: readonly string[]) =>
  (s: string): string =>
    PALETTE[settings.indexOf(s) % PALETTE.length] as string;
const shortModel = (m: string): string => m.split('/').pop() ?? m;

function legend(settings: readonly string[]) {
  return settings.map((s) => ({ label: s, color: colorOf(settings)(s), shape: 'dot' as const }));
}

function panelWidth(models: number): number {
  return Math.floor((WIDTH - 32) / Math.max(1, models));
}

function accuracyPanel(
  r: PlotRenderer,
  rows: StudyRow[],
  settings: readonly string[],
  width: number,
  domains: { x: [number, number]; y: [number, number] },
): string {
  const pts = rows.filter((x) => x.accuracy.value !== null && x.tokensPerPrompt.value !== null);
  const color = colorOf(settings);
  return r.plot('study-accuracy-tokens', {
    width,
    height: 380,
    marginLeft: 56,
    marginBottom: 44,
    x: { label: 'Tokens per prompt →', domain: domains.x, nice: true, grid: true },
    y: { label: '↑ Accuracy', domain: domains.y, tickFormat: (d: number) => `${Math.round(100 * d)}%`, grid: true },
    marks: [
      Plot.ruleX(pts, {
        x: (d: StudyRow) => d.tokensPerPrompt.value,
        y1: (d: StudyRow) => d.accuracy.lower,
        y2: (d: StudyRow) => d.accuracy.upper,
        stroke: (d: StudyRow) => color(d.setting),
        strokeWidth: 2,
      }),
      Plot.ruleY(pts, {
        y: (d: StudyRow) => d.accuracy.value,
        x1: (d: StudyRow) => d.tokensPerPrompt.lower,
        x2: (d: StudyRow) => d.tokensPerPrompt.upper,
        stroke: (d: StudyRow) => color(d.setting),
        strokeWidth: 2,
      }),
      Plot.dot(pts, {
        x: (d: StudyRow) => d.tokensPerPrompt.value,
        y: (d: StudyRow) => d.accuracy.value,
        fill: (d: StudyRow) => color(d.setting),
        r: 6,
        stroke: 'white',
      }),
    ],
  }).svg;
}

export function accuracyTokensFigure(
  r: PlotRenderer,
  table: StudyTable,
  models: readonly string[],
  settings: readonly string[],
  emulated: boolean,
): StudyFigure {
  const present = models.filter((m) => table.rows.some((x) => x.model === m));
  const w = panelWidth(present.length);
  const lows = table.rows.flatMap((x) => (x.accuracy.lower === null ? [] : [x.accuracy.lower]));
  const yDomain: [number, number] = [Math.max(0, Math.floor(10 * Math.min(1, ...lows)) / 10 - 0.05), 1];
  // One token axis for every panel: models are compared across panels, and "writes longer" must show as such.
  const ends = table.rows.flatMap((x) =>
    [x.tokensPerPrompt.lower, x.tokensPerPrompt.upper, x.tokensPerPrompt.value].filter((v): v is number => v !== null),
  );
  const xDomain: [number, number] = ends.length > 0 ? [Math.min(...ends), Math.max(...ends)] : [0, 1];
  const panels = present.map((m, i) => ({
    svg: accuracyPanel(
      r,
      table.rows.filter((x) => x.model === m),
      settings,
      w,
      { x: xDomain, y: yDomain },
    ),
    x: 16 + i * w,
    y: 0,
    heading: shortModel(m),
  }));
  const title = `${table.benchmark}: accuracy against tokens per prompt, per model`;
  const caption = `One point per setting; bars are 95% intervals (accuracy: Wilson, or a bootstrap over prompts with seeds kept together; tokens: bootstrap over prompts). n per point in the table.`;
  const svg = composeFigure({
    title,
    subtitle: caption,
    width: WIDTH,
    panelHeight: 380 + 22,
    panels,
    legend: legend(settings),
    emulated,
  });
  return { name: `accuracy-tokens-${slug(table.benchmark)}`, title, svg, caption };
}

export function hypothesisGapFigure(
  r: PlotRenderer,
  table: StudyTable,
  models: readonly string[],
  settings: readonly string[],
  emulated: boolean,
): StudyFigure {
  const pts = table.rows.filter((x) => x.gap.value !== null).map((x) => ({ ...x, label: shortModel(x.model) }));
  const color = colorOf(settings);
  const order = models.map(shortModel).filter((m) => pts.some((p) => p.label === m));
  const plot = r.plot('study-hypothesis-gap', {
    width: WIDTH - 32,
    height: 360,
    marginLeft: 64,
    marginBottom: 44,
    fx: { label: null, domain: order },
    x: { axis: null, domain: [...settings] },
    y: {
      label: '↑ Confident − uncertain compliance accuracy (points)',
      nice: true,
      tickFormat: (d: number) => `${Math.round(100 * d)}`,
      grid: true,
    },
    marks: [
      Plot.ruleY([0], { stroke: '#555' }),
      Plot.ruleX(pts, {
        fx: 'label',
        x: 'setting',
        y1: (d: StudyRow) => d.gap.lower,
        y2: (d: StudyRow) => d.gap.upper,
        stroke: (d: StudyRow) => color(d.setting),
        strokeWidth: 2.5,
      }),
      Plot.dot(pts, {
        fx: 'label',
        x: 'setting',
        y: (d: StudyRow) => d.gap.value,
        fill: (d: StudyRow) => color(d.setting),
        r: 6,
        stroke: 'white',
      }),
    ],
  }).svg;
  const title = `${table.benchmark}: the hypothesis gap per model`;
  const caption =
    'Accuracy of confident minus uncertain compliances (each cell split at its own confidence percentile), with Newcombe 95% intervals; above 0 = uncertain compliances are more often wrong. n in the table.';
  const svg = composeFigure({
    title,
    subtitle: caption,
    width: WIDTH,
    panelHeight: 360,
    panels: [{ svg: pts.length > 0 ? plot : plot, x: 16, y: 0 }],
    legend: legend(settings),
    emulated,
  });
  return { name: `hypothesis-gap-${slug(table.benchmark)}`, title, svg, caption };
}
