import * as Plot from '@observablehq/plot';
import type { InstanceRecord } from '@deepconf-safety/run-store';
import { int, pct } from '../format.js';
import { savingsBreakdown, type SavingsBreakdown } from '../savings-interval.js';
import {
  assembleFigure,
  SMALL_N,
  axisSpace,
  labelMargin,
  presetOf,
  readableCategory,
  runLabel,
  type Figure,
  type FigureContext,
} from './common.js';
import { OKABE_ITO } from './palette.js';
import type { FigurePreset } from './presets.js';
import { headingSpace, textWidth, wrapText, type Panel } from './render.js';

interface Group {
  label: string;
  instances: number;
  savings: { value: number | null; lower: number; upper: number };
  tokens: { value: number; lower: number; upper: number };
  baseline: { value: number; lower: number; upper: number };
}

/** Savings and tokens per prompt of one group, each with a bootstrap 95% interval over its prompts. */
function group(label: string, members: readonly InstanceRecord[], seed: number): Group {
  // The report's tables take their savings interval from the same function, seed and resamples.
  const { savings: s, tokensPerPrompt: t, baselinePerPrompt: b } = savingsBreakdown(members, seed) as SavingsBreakdown;
  return {
    label: `${label} (n\u00a0=\u00a0${members.length})`,
    instances: members.length,
    savings: { value: s.percent, lower: s.lower ?? Number.NaN, upper: s.upper ?? Number.NaN },
    tokens: { value: t.estimate, lower: t.lower, upper: t.upper },
    baseline: { value: b.estimate, lower: b.lower, upper: b.upper },
  };
}

/** Rows shared by both panels, so each category's bars line up across them. */
interface RowLayout {
  groups: Group[];
  domain: string[];
  rowH: number;
  height: number;
  marginLeft: number;
}

const opacity = (small: boolean): number => (small ? 0.45 : 1);
const fmtPct = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)}%`);

/** All prompts first, then the categories (when there is more than one), most savings first. */
function savingsGroups(ctx: FigureContext): Group[] {
  const byCategory = new Map<string, InstanceRecord[]>();
  for (const i of ctx.run.instances) byCategory.set(i.category, [...(byCategory.get(i.category) ?? []), i]);
  const categories = [...byCategory.entries()]
    .map(([c, members]) => group(readableCategory(c), members, ctx.seed))
    .sort((a, b) => (b.savings.value ?? -Infinity) - (a.savings.value ?? -Infinity) || a.label.localeCompare(b.label));
  return [group('All prompts', ctx.run.instances, ctx.seed), ...(categories.length > 1 ? categories : [])];
}

/** Wraps the row labels and sizes the rows to the longest. */
function rowLayout(groups: Group[], p: FigurePreset): RowLayout {
  // Long names wrap onto a second line rather than squeezing the bars (a column figure is 3.25 in wide).
  const maxLabel = p.width * (p.narrow ? 0.42 : 0.26);
  for (const g of groups) g.label = wrapText(g.label, maxLabel, p.font).join('\n');
  const domain = groups.map((g) => g.label);
  const lines = (l: string): number => l.split('\n').length;
  const rowH = p.font * (p.narrow ? 2.3 : 2.9);
  const maxLines = Math.max(...groups.map((g) => lines(g.label)));
  const height = groups.length * (rowH + (maxLines - 1) * p.font * 1.15) + axisSpace(p).bottom + 6 * p.scale;
  return { groups, domain, rowH, height, marginLeft: labelMargin(domain, p.font) };
}

/** Savings bars with bootstrap whiskers and their values; `withLabels` draws the row names (narrow figures). */
function savingsPlot(ctx: FigureContext, rows: RowLayout, width: number, withLabels: boolean): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const { groups, domain, rowH } = rows;
  const his = groups.map((g) => (Number.isFinite(g.savings.upper) ? g.savings.upper : (g.savings.value ?? 0)));
  const los = groups.map((g) => (Number.isFinite(g.savings.lower) ? g.savings.lower : (g.savings.value ?? 0)));
  return ctx.renderer.plot(
    'token_savings',
    {
      width,
      height: rows.height,
      marginTop: 4 * p.scale,
      marginLeft: withLabels ? rows.marginLeft : 8 * p.scale,
      marginRight: textWidth('−100.0%', p.font) + 8 * p.scale,
      marginBottom: axis.bottom,
      x: {
        label: `Token savings (% of ${ctx.metrics.tokens.baselineEstimated ? 'estimated ' : ''}baseline) →`,
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        domain: [Math.min(0, ...los), Math.max(5, ...his)],
        nice: true,
        ticks: p.narrow ? 4 : 6,
      },
      // The same rows as the token panel, so each category's bars line up across the two panels.
      fy: {
        domain,
        padding: 0.12,
        ...(withLabels ? { label: null, tickSize: 0, axis: 'left' as const } : { axis: null }),
      },
      // One band per row, so the interval rules (which need a y) sit on the bar's centre line.
      y: { domain: ['ci'], axis: null },
      marks: [
        Plot.barX(groups, {
          x: (g: Group) => g.savings.value ?? 0,
          fy: 'label',
          fill: OKABE_ITO.bluishGreen,
          fillOpacity: (g: Group) => opacity(g.instances < SMALL_N),
          insetTop: rowH * 0.18,
          insetBottom: rowH * 0.18,
        }),
        Plot.ruleY(
          groups.filter((g) => g.instances > 1 && Number.isFinite(g.savings.lower)),
          {
            y: () => 'ci',
            fy: 'label',
            x1: (g: Group) => g.savings.lower,
            x2: (g: Group) => g.savings.upper,
            stroke: '#111',
            strokeWidth: 1.2 * p.scale,
          },
        ),
        Plot.text(groups, {
          x: (_g: Group, i: number) => Math.max(0, his[i]!),
          fy: 'label',
          text: (g: Group) => fmtPct(g.savings.value),
          textAnchor: 'start',
          dx: 4 * p.scale,
          fontSize: p.font,
        }),
        Plot.ruleX([0]),
      ],
    },
    p,
  ).svg;
}

/** Tokens per prompt, baseline beside actual, in thousands once the baseline reaches 10,000. */
function tokenPlot(ctx: FigureContext, rows: RowLayout, width: number): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const { groups, domain } = rows;
  const scale = Math.max(...groups.map((g) => g.baseline.upper)) >= 10_000 ? 1000 : 1;
  const bars = groups
    .flatMap((g) => [
      {
        label: g.label,
        series: 'Baseline (no early stop)',
        ...g.baseline,
        small: g.instances < SMALL_N,
        n: g.instances,
      },
      { label: g.label, series: 'Actual', ...g.tokens, small: g.instances < SMALL_N, n: g.instances },
    ])
    .map((b) => ({ ...b, value: b.value / scale, lower: b.lower / scale, upper: b.upper / scale }));
  return ctx.renderer.plot(
    'token_savings',
    {
      width,
      height: rows.height,
      marginTop: 4 * p.scale,
      marginLeft: rows.marginLeft,
      marginRight: 14 * p.scale,
      marginBottom: axis.bottom,
      x: {
        label: `Generated tokens per prompt${scale === 1 ? '' : ' (thousands)'} →`,
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        nice: true,
        ticks: 5,
      },
      fy: { domain, label: null, padding: 0.12, tickSize: 0, axis: 'left' },
      y: { domain: ['Baseline (no early stop)', 'Actual'], axis: null, padding: 0.15 },
      color: { domain: ['Baseline (no early stop)', 'Actual'], range: ['#B8B8B8', OKABE_ITO.blue] },
      marks: [
        Plot.barX(bars, {
          x: 'value',
          y: 'series',
          fy: 'label',
          fill: 'series',
          fillOpacity: (d: { small: boolean }) => opacity(d.small),
        }),
        Plot.ruleY(
          bars.filter((b) => b.n > 1),
          { y: 'series', fy: 'label', x1: 'lower', x2: 'upper', stroke: '#111', strokeWidth: 1.1 * p.scale },
        ),
        Plot.ruleX([0]),
      ],
    },
    p,
  ).svg;
}

/** Narrow: the savings alone, with row names. Wide: tokens on the left, savings on the right. */
function savingsPanels(ctx: FigureContext, rows: RowLayout): Panel[] {
  const p = presetOf(ctx);
  if (p.narrow) return [{ svg: savingsPlot(ctx, rows, p.width, true), x: 0, y: 0 }];
  const leftWidth = Math.round(rows.marginLeft + (p.width - rows.marginLeft) * 0.55);
  return [
    { svg: tokenPlot(ctx, rows, leftWidth), x: 0, y: 0, heading: 'Tokens per prompt: baseline vs actual' },
    {
      svg: savingsPlot(ctx, rows, p.width - leftWidth - 6 * p.scale, false),
      x: leftWidth + 6 * p.scale,
      y: 0,
      heading: 'Savings',
    },
  ];
}

/**
 * Token savings overall and per category. Tokens are shown per prompt (a total over all prompts would dwarf
 * every category's bar); categories by readable name, most savings first, after the all-prompts row.
 */
export function tokenSavings(ctx: FigureContext): Figure {
  const p = presetOf(ctx);
  const { tokens } = ctx.metrics;
  const rows = rowLayout(savingsGroups(ctx), p);
  const estimated = tokens.baselineEstimated;
  const panels = savingsPanels(ctx, rows);
  const smallCount = rows.groups.filter((g) => g.instances < SMALL_N).length;
  const overall = tokens.savingsPercent === null ? 'n/a' : `${tokens.savingsPercent.toFixed(1)}%`;
  const footer =
    'Bars: point estimates; whiskers: bootstrap 95% intervals over prompts. ' +
    (estimated
      ? "Baseline estimated from each prompt's warmup traces, which ran in full (see report)."
      : 'Baseline: tokens the same traces would have used without early stopping.') +
    (p.narrow ? ' Tokens per prompt are in the report’s per-category table.' : '') +
    (smallCount > 0 ? ` Pale bars: fewer than ${SMALL_N} prompts, too few to compare categories.` : '');
  return assembleFigure(ctx, {
    name: 'token_savings',
    title: `Token savings from early stopping: ${overall}${estimated ? ' (estimated)' : ''} overall`,
    subtitle: `${runLabel(ctx)} · ${int(tokens.total)} of ${int(tokens.baseline)} baseline tokens · early-stop rate ${pct(ctx.metrics.earlyStop.value)} (${ctx.metrics.earlyStop.k} of ${ctx.metrics.earlyStop.n} final traces stopped)`,
    caption: `Token savings from early stopping, overall and per category (${ctx.metrics.instances} prompts).`,
    footer,
    panelHeight: rows.height + (p.narrow ? 0 : headingSpace(p)),
    panels,
    legend: p.narrow
      ? [{ label: 'Savings, 95% CI', color: OKABE_ITO.bluishGreen }]
      : [
          { label: 'Baseline (no early stop)', color: '#B8B8B8' },
          { label: 'Actual', color: OKABE_ITO.blue },
          { label: 'Savings', color: OKABE_ITO.bluishGreen },
          { label: '95% CI', color: '#111', shape: 'line' as const },
        ],
  });
}
