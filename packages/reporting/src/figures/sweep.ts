import * as Plot from '@observablehq/plot';
import { wilsonInterval } from '../stats-proportions.js';
import {
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
import { composeFigure } from './render.js';

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

/**
 * Accuracy (Wilson 95% interval) against tokens when the recorded traces are replayed under other thresholds.
 * Both axes are ranged to the data, and point labels are placed where they overlap nothing (or listed as
 * unlabelled in the footer).
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one Plot specification (marks, scales, labels) read top to bottom; splitting it scatters the layout
export function accuracyVsTokens(ctx: FigureContext): Figure | null {
  const sweep = ctx.sweep;
  if (sweep === null || sweep.points.length === 0) return null;
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const pts = sweep.points
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
  if (pts.length === 0) return null;
  const m = ctx.metrics;
  const actual =
    m.tokens.baseline > 0 && m.accuracy.value !== null
      ? [{ tokensPct: (100 * m.tokens.total) / m.tokens.baseline, acc: 100 * m.accuracy.value }]
      : [];
  const xDomain = dataDomain([...pts.map((q) => q.tokensPct), ...actual.map((a) => a.tokensPct)], 10, 0, 105);
  const yDomain = dataDomain([...pts.flatMap((q) => [q.lo, q.hi]), ...actual.map((a) => a.acc)], 10, 0, 100);
  const height = Math.round(p.font * (p.narrow ? 20 : 24));
  const marginLeft = yAxisMargin(p);
  const marginRight = 10 * p.scale;
  const marginTop = yLabelTop(p);
  const toX = (v: number): number =>
    marginLeft + ((v - xDomain[0]) / (xDomain[1] - xDomain[0])) * (p.width - marginLeft - marginRight);
  const toY = (v: number): number =>
    marginTop + (1 - (v - yDomain[0]) / (yDomain[1] - yDomain[0])) * (height - marginTop - axis.bottom);
  const fromX = (px: number): number =>
    xDomain[0] + ((px - marginLeft) / (p.width - marginLeft - marginRight)) * (xDomain[1] - xDomain[0]);
  const fromY = (py: number): number =>
    yDomain[0] + (1 - (py - marginTop) / (height - marginTop - axis.bottom)) * (yDomain[1] - yDomain[0]);
  const frame = { x0: marginLeft, x1: p.width - marginRight, y0: marginTop, y1: height - axis.bottom };
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
  const panel = ctx.renderer.plot(
    'accuracy_vs_tokens',
    {
      width: p.width,
      height,
      marginTop,
      marginLeft,
      marginRight,
      marginBottom: axis.bottom,
      x: {
        label: 'Tokens generated (% of the no-early-stop baseline) →',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        domain: xDomain,
        ticks: p.narrow ? 4 : 8,
      },
      y: { label: '↑ Accuracy (% of labelled prompts)', domain: yDomain, grid: true, ticks: p.narrow ? 4 : 6 },
      marks: [
        ...(xDomain[1] >= 100
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
        labelMark('start'),
        labelMark('middle'),
        labelMark('end'),
      ],
    },
    p,
  ).svg;
  const missing =
    sweep.notComputable.length > 0
      ? ` η = ${sweep.notComputable.join(', ')}% not computable from this run (lower thresholds than it stopped at).`
      : '';
  const unlabelled = dropped.filter((d) => d !== -1);
  const n = Math.max(...pts.map((q) => q.n));
  const title = 'Accuracy versus tokens across DeepConf thresholds';
  const subtitle = `${runLabel(ctx)} · replayed offline from recorded traces, window ${sweep.window} tokens · n = ${n} labelled prompts`;
  const footer =
    `Whiskers: Wilson 95% intervals. Higher η = lower threshold = fewer stops.${missing}` +
    (unlabelled.length > 0 ? ` Unlabelled points (no room): η = ${unlabelled.join(', ')}%.` : '');
  return {
    name: 'accuracy_vs_tokens',
    title,
    subtitle,
    caption: `Accuracy against tokens when the recorded traces are replayed under other thresholds (n = ${n}).`,
    footer,
    svg: composeFigure({
      title,
      subtitle,
      width: p.width,
      panelHeight: height,
      panels: [{ svg: panel, x: 0, y: 0 }],
      legend: [
        { label: 'Replayed threshold η, 95% CI', color: OKABE_ITO.blue, shape: 'interval' as const },
        ...(actual.length > 0
          ? [{ label: 'This run as recorded', color: OKABE_ITO.vermillion, shape: 'diamond' as const }]
          : []),
      ],
      footer,
      emulated: ctx.run.emulated,
      preset: p,
    }),
  };
}
