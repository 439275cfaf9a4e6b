import * as Plot from '@observablehq/plot';
import { wilsonInterval } from '../stats-proportions.js';
import type { ThresholdSweep } from '../threshold-sweep.js';
import {
  assembleFigure,
  yLabelTop,
  yAxisMargin,
  axisSpace,
  placeLabels,
  presetOf,
  runLabel,
  type Figure,
  type FigureContext,
} from './common.js';
import { OKABE_ITO } from './palette.js';
import type { FigurePreset } from './presets.js';

/** [lo, hi] widened by a margin and to at least `minSpan`, clamped to [floor, ceil]. */
function dataDomain(values: readonly number[], minSpan: number, floor: number, ceil: number): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.08, (minSpan - (hi - lo)) / 2, 0);
  lo -= pad;
  hi += pad;
  if (lo < floor) [lo, hi] = [floor, Math.min(ceil, hi + (floor - lo))];
  if (hi > ceil) [lo, hi] = [Math.max(floor, lo - (hi - ceil)), ceil];
  return [lo, hi];
}

interface SweepDot {
  keep: number;
  tokensPct: number;
  acc: number;
  lo: number;
  hi: number;
  k: number;
  n: number;
}

/** The run as it was recorded, on the same axes. */
interface ActualDot {
  tokensPct: number;
  acc: number;
}

/** The plot's frame: size, margins and the two data domains. */
interface SweepFrame {
  width: number;
  height: number;
  marginTop: number;
  marginLeft: number;
  marginRight: number;
  marginBottom: number;
  xDomain: [number, number];
  yDomain: [number, number];
}

/** Replayed settings with a labelled accuracy, in percent of the baseline's tokens, cheapest first. */
function sweepDots(sweep: ThresholdSweep): SweepDot[] {
  return sweep.points
    .filter((pt) => pt.accuracy !== null && pt.baselineTokens > 0)
    .map((pt) => {
      const k = Math.round((pt.accuracy as number) * pt.decided);
      const ci = wilsonInterval(k, pt.decided);
      return {
        keep: pt.keepPercent,
        tokensPct: (100 * pt.tokens) / pt.baselineTokens,
        acc: 100 * (pt.accuracy as number),
        lo: 100 * ci.lower,
        hi: 100 * ci.upper,
        k,
        n: pt.decided,
      };
    })
    .sort((a, b) => a.tokensPct - b.tokensPct);
}

/**
 * Text marks for the labels placed clear of each other and of the points (in data units, so Plot draws them
 * where placeLabels measured them), and the η of the points left unlabelled (-1 is this run's own label).
 */
function pointLabels(
  p: FigurePreset,
  f: SweepFrame,
  pts: readonly SweepDot[],
  actual: readonly ActualDot[],
): { marks: Plot.Markish[]; dropped: number[] } {
  const { xDomain, yDomain, marginLeft, marginRight, marginTop, marginBottom, height } = f;
  const plotWidth = f.width - marginLeft - marginRight;
  const plotHeight = height - marginTop - marginBottom;
  const toX = (v: number): number => marginLeft + ((v - xDomain[0]) / (xDomain[1] - xDomain[0])) * plotWidth;
  const toY = (v: number): number => marginTop + (1 - (v - yDomain[0]) / (yDomain[1] - yDomain[0])) * plotHeight;
  const fromX = (px: number): number => xDomain[0] + ((px - marginLeft) / plotWidth) * (xDomain[1] - xDomain[0]);
  const fromY = (py: number): number => yDomain[0] + (1 - (py - marginTop) / plotHeight) * (yDomain[1] - yDomain[0]);
  const frame = { x0: marginLeft, x1: f.width - marginRight, y0: marginTop, y1: height - marginBottom };
  const { placed, dropped } = placeLabels(
    [
      ...actual.map((a) => ({ x: toX(a.tokensPct), y: toY(a.acc), text: 'this run', datum: -1, r: 7 * p.scale + 1 })),
      ...pts.map((q) => ({ x: toX(q.tokensPct), y: toY(q.acc), text: `η ${q.keep}%`, datum: q.keep })),
    ],
    frame,
    p.font,
    7 * p.scale + p.font * 0.3,
  );
  const labelMark = (anchor: 'start' | 'middle' | 'end') =>
    Plot.text(
      placed.filter((l) => l.anchor === anchor),
      {
        x: (l: { x: number }) => fromX(l.x),
        y: (l: { y: number }) => fromY(l.y),
        text: 'text',
        textAnchor: anchor,
        fontSize: p.font,
        fill: (l: { datum: number }) => (l.datum === -1 ? OKABE_ITO.vermillion : '#111'),
      },
    );
  return { marks: [labelMark('start'), labelMark('middle'), labelMark('end')], dropped };
}

/** The replayed settings (line, whiskers, dots), the run itself (hollow diamond) and the baseline at 100%. */
function sweepMarks(
  p: FigurePreset,
  f: SweepFrame,
  pts: readonly SweepDot[],
  actual: readonly ActualDot[],
): Plot.Markish[] {
  return [
    ...(f.xDomain[1] >= 100
      ? [Plot.ruleX([100], { stroke: '#999', strokeDasharray: `${4 * p.scale},${3 * p.scale}` })]
      : []),
    Plot.line(pts, {
      x: 'tokensPct',
      y: 'acc',
      stroke: OKABE_ITO.blue,
      strokeWidth: 1.5 * p.scale,
      strokeOpacity: 0.6,
    }),
    Plot.ruleX(pts, { x: 'tokensPct', y1: 'lo', y2: 'hi', stroke: OKABE_ITO.blue, strokeWidth: 1.2 * p.scale }),
    Plot.dot(pts, {
      x: 'tokensPct',
      y: 'acc',
      fill: OKABE_ITO.blue,
      r: 3.5 * p.scale,
      stroke: 'white',
      strokeWidth: 0.8 * p.scale,
    }),
    // Hollow, so the replay of the run's own setting (usually on the same spot) stays visible inside it.
    Plot.dot(actual, {
      x: 'tokensPct',
      y: 'acc',
      symbol: 'diamond',
      fill: 'none',
      r: 7 * p.scale,
      stroke: OKABE_ITO.vermillion,
      strokeWidth: 1.6 * p.scale,
    }),
  ];
}

/** The frame with its axes around the marks. */
function sweepPlot(ctx: FigureContext, f: SweepFrame, marks: Plot.Markish[]): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  return ctx.renderer.plot(
    'accuracy_vs_tokens',
    {
      width: f.width,
      height: f.height,
      marginTop: f.marginTop,
      marginLeft: f.marginLeft,
      marginRight: f.marginRight,
      marginBottom: f.marginBottom,
      x: {
        label: 'Tokens generated (% of the no-early-stop baseline) →',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        domain: f.xDomain,
        ticks: p.narrow ? 4 : 8,
      },
      y: { label: '↑ Accuracy (% of labelled prompts)', domain: f.yDomain, grid: true, ticks: p.narrow ? 4 : 6 },
      marks,
    },
    p,
  ).svg;
}

/**
 * Accuracy (Wilson 95% interval) against tokens when the recorded traces are replayed under other thresholds.
 * Both axes are ranged to the data, and point labels are placed where they overlap nothing (or listed as
 * unlabelled in the footer).
 */
export function accuracyVsTokens(ctx: FigureContext): Figure | null {
  const sweep = ctx.sweep;
  if (sweep === null || sweep.points.length === 0) return null;
  const p = presetOf(ctx);
  const pts = sweepDots(sweep);
  if (pts.length === 0) return null;
  const m = ctx.metrics;
  const actual: ActualDot[] =
    m.tokens.baseline > 0 && m.accuracy.value !== null
      ? [{ tokensPct: (100 * m.tokens.total) / m.tokens.baseline, acc: 100 * m.accuracy.value }]
      : [];
  const frame: SweepFrame = {
    width: p.width,
    height: Math.round(p.font * (p.narrow ? 20 : 24)),
    marginTop: yLabelTop(p),
    marginLeft: yAxisMargin(p),
    marginRight: 10 * p.scale,
    marginBottom: axisSpace(p).bottom,
    xDomain: dataDomain([...pts.map((q) => q.tokensPct), ...actual.map((a) => a.tokensPct)], 10, 0, 105),
    yDomain: dataDomain([...pts.flatMap((q) => [q.lo, q.hi]), ...actual.map((a) => a.acc)], 10, 0, 100),
  };
  const labels = pointLabels(p, frame, pts, actual);
  const panel = sweepPlot(ctx, frame, [...sweepMarks(p, frame, pts, actual), ...labels.marks]);
  const missing =
    sweep.notComputable.length > 0
      ? ` η = ${sweep.notComputable.join(', ')}% not computable from this run (lower thresholds than it stopped at).`
      : '';
  const unlabelled = labels.dropped.filter((d) => d !== -1);
  const n = Math.max(...pts.map((q) => q.n));
  return assembleFigure(ctx, {
    name: 'accuracy_vs_tokens',
    title: 'Accuracy versus tokens across DeepConf thresholds',
    subtitle: `${runLabel(ctx)} · replayed offline from recorded traces, window ${sweep.window} tokens · n = ${n} labelled prompts`,
    caption: `Accuracy against tokens when the recorded traces are replayed under other thresholds (n = ${n}).`,
    footer:
      `Whiskers: Wilson 95% intervals. Higher η = lower threshold = fewer stops.${missing}` +
      (unlabelled.length > 0 ? ` Unlabelled points (no room): η = ${unlabelled.join(', ')}%.` : ''),
    panelHeight: frame.height,
    panels: [{ svg: panel, x: 0, y: 0 }],
    legend: [
      { label: 'Replayed threshold η, 95% CI', color: OKABE_ITO.blue, shape: 'interval' as const },
      ...(actual.length > 0
        ? [{ label: 'This run as recorded', color: OKABE_ITO.vermillion, shape: 'diamond' as const }]
        : []),
    ],
  });
}
