import * as Plot from '@observablehq/plot';
import {
  assembleFigure,
  axisSpace,
  decisionConfidence,
  labelMargin,
  noteSvg,
  outcomeOf,
  presetOf,
  runLabel,
  type Figure,
  type FigureContext,
} from './common.js';
import { OUTCOME_COLORS, OUTCOME_LABELS, type Outcome } from './palette.js';
import type { FigurePreset } from './presets.js';

const ORDER: Outcome[] = ['correct_refusal', 'correct_compliance', 'incorrect_refusal', 'incorrect_compliance'];

/**
 * Height a beeswarm of these x positions needs (dots of radius r dodged both ways from the middle): the most
 * dots within one diameter of each other, stacked. An upper bound, so the swarm stays inside its row.
 */
export function swarmHeight(xs: readonly number[], r: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! > 2 * r) j++;
    most = Math.max(most, i - j + 1);
  }
  return most * 2 * r * 0.95 + 2 * r;
}

interface Layout {
  r: number;
  rowHeight: number;
  /** Too many prompts to dodge inside a row: a seeded jittered strip instead. */
  jitter: boolean;
}

/** Largest dot that lets every row's swarm fit the row cap; a jittered strip when even the smallest does not. */
function swarmLayout(rows: ReadonlyArray<{ outcome: Outcome; px: number }>, p: FigurePreset): Layout {
  const cap = p.name === 'screen' ? 170 : p.narrow ? 62 : 80;
  const minRow = p.font * 3;
  for (const r of [4.5, 3.5, 2.6, 2].map((v) => v * p.scale * (p.narrow ? 1.25 : 1))) {
    const need = Math.max(
      ...ORDER.map((o) =>
        swarmHeight(
          rows.filter((d) => d.outcome === o).map((d) => d.px),
          r,
        ),
      ),
    );
    if (need <= cap) return { r, rowHeight: Math.max(minRow, need + 2 * r), jitter: false };
  }
  return { r: 1.6 * p.scale * (p.narrow ? 1.25 : 1), rowHeight: cap, jitter: true };
}

interface BucketDot {
  outcome: Outcome;
  confidence: number;
  label: string;
  jitter: number;
}

/** Prompts of one row sharing one exact confidence: a swarm or strip cannot show how many they are. */
interface Pile {
  label: string;
  x: number;
  text: string;
}

/** The tie's value as the axis shows it (1.00), with a third digit only where two would round it. */
const pileValue = (v: number): string => (Number(v.toFixed(2)) === v ? v.toFixed(2) : v.toPrecision(3));

/** Fewest prompts at one exact value that get their count written beside them. */
const PILE_MIN = 5;

/**
 * Exact ties of at least PILE_MIN prompts per row. Vote share is often exactly 1.00 for most prompts; the dots
 * would then hide one another (and the median tick), so each such pile says its count.
 */
export function confidencePiles(data: ReadonlyArray<{ label: string; confidence: number }>): Pile[] {
  const counts = new Map<string, { label: string; x: number; n: number }>();
  for (const d of data) {
    const key = `${d.label}\u0000${d.confidence}`;
    const c = counts.get(key) ?? { label: d.label, x: d.confidence, n: 0 };
    c.n++;
    counts.set(key, c);
  }
  return [...counts.values()]
    .filter((c) => c.n >= PILE_MIN)
    .map((c) => ({ label: c.label, x: c.x, text: `${c.n} at ${pileValue(c.x)}` }));
}

/** Each pile's count, written at the top of its row to the left of the pile, on a white halo over the dots. */
function pileLabels(piles: readonly Pile[], layout: Layout, p: FigurePreset): Plot.Markish {
  return Plot.text(piles, {
    x: 'x',
    fy: 'label',
    text: 'text',
    frameAnchor: 'top',
    ...(layout.jitter ? { y: () => 0.5 } : {}),
    dy: p.small * 0.9,
    dx: -(layout.r + 4 * p.scale),
    textAnchor: 'end',
    fill: '#111',
    fontSize: p.small,
    stroke: 'white',
    strokeWidth: 3 * p.scale,
    paintOrder: 'stroke',
  });
}

/**
 * Most dots the figure draws. Beyond it the rows were jittered strips of translucent dots that hid one another,
 * and converting 10,000 of them to PDF held ~200 MiB; a rank sample of this many still shows each row's shape.
 */
export const STRIP_MOST = 2000;

/**
 * The dots drawn: all of them up to {@link STRIP_MOST}, else every k-th of each row in order of confidence (one k
 * for all rows, so the rows' sizes still compare). Medians, counts and ties use every prompt.
 */
export function stripSample<T extends { label: string; confidence: number }>(
  data: readonly T[],
): { dots: T[]; every: number } {
  if (data.length <= STRIP_MOST) return { dots: [...data], every: 1 };
  const every = Math.ceil(data.length / STRIP_MOST);
  const byRow = new Map<string, T[]>();
  for (const d of data) {
    const row = byRow.get(d.label);
    if (row) row.push(d);
    else byRow.set(d.label, [d]);
  }
  const dots = [...byRow.values()].flatMap((row) =>
    [...row].sort((a, b) => a.confidence - b.confidence).filter((_, i) => i % every === 0),
  );
  return { dots, every };
}

/** The x axis: its ends (always including the split) and whether it is logarithmic. */
interface ConfidenceAxis {
  lo: number;
  hi: number;
  logScale: boolean;
  label: string;
}

/** Ends of the axis over these confidences and the split; log when a few very confident prompts dominate. */
function confidenceAxis(ctx: FigureContext, confs: readonly number[], split: number | null): ConfidenceAxis {
  const conf = decisionConfidence(ctx);
  // A few very confident prompts would squeeze everyone else into a sliver of a linear axis.
  const logScale =
    !conf.probability && confs.length > 0 && Math.min(...confs) > 0 && Math.max(...confs) / Math.min(...confs) > 8;
  return {
    lo: Math.min(...confs, split ?? Infinity),
    hi: Math.max(...confs, split ?? -Infinity),
    logScale,
    label: `${conf.label}${logScale ? ', log scale' : ''} →`,
  };
}

/** Dots dodged into a beeswarm per row, or a seeded jittered strip when there are too many to dodge. */
function bucketDots(data: readonly BucketDot[], layout: Layout, p: FigurePreset): Plot.Markish {
  return layout.jitter
    ? Plot.dot(data, {
        x: 'confidence',
        y: (d: { jitter: number }) => d.jitter,
        fy: 'label',
        fill: 'label',
        r: layout.r,
        fillOpacity: 0.45,
      })
    : Plot.dotX(
        data,
        Plot.dodgeY('middle', {
          x: 'confidence',
          fy: 'label',
          fill: 'label',
          r: layout.r,
          stroke: 'white',
          strokeWidth: 0.5 * p.scale,
          fillOpacity: 0.9,
        }),
      );
}

/** The x scale: log or linear over the axis' ends. */
function confidenceScale(ax: ConfidenceAxis, axis: { labelOffset: number }, p: FigurePreset): Plot.ScaleOptions {
  const common = {
    label: ax.label,
    labelAnchor: 'center' as const,
    labelOffset: axis.labelOffset,
    grid: true,
  };
  return ax.logScale
    ? { type: 'log', ...common, tickFormat: '~g', domain: [ax.lo, ax.hi], ticks: p.narrow ? 4 : 8 }
    : { ...common, domain: [ax.lo, ax.hi], ticks: p.narrow ? 4 : 8 };
}

/** One row per outcome: its dots, their median (tick) and the confident/uncertain split (dashed). */
function bucketPlot(
  ctx: FigureContext,
  data: readonly BucketDot[],
  dots: readonly BucketDot[],
  rowLabel: (o: Outcome) => string,
  frame: { ax: ConfidenceAxis; layout: Layout; height: number; marginLeft: number; marginRight: number },
  empty: ReadonlyArray<{ label: string }>,
): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const split = ctx.metrics.split.confidence;
  const { layout } = frame;
  return ctx.renderer.plot(
    'confidence_4bucket',
    {
      width: p.width,
      height: frame.height,
      marginTop: 4 * p.scale,
      marginLeft: frame.marginLeft,
      marginRight: frame.marginRight,
      marginBottom: axis.bottom,
      x: confidenceScale(frame.ax, axis, p),
      ...(layout.jitter ? { y: { domain: [-0.55, 0.55], axis: null } } : {}),
      fy: { domain: ORDER.map(rowLabel), label: null, padding: 0.06, tickSize: 0, axis: 'left' },
      color: { domain: ORDER.map(rowLabel), range: ORDER.map((o) => OUTCOME_COLORS[o]) },
      marks: [
        Plot.frame({ stroke: '#ddd' }),
        // An empty outcome keeps its row (so figures of different runs line up) but says why it is blank.
        Plot.text(empty, {
          fy: 'label',
          frameAnchor: 'middle',
          text: () => 'no prompts with this outcome',
          fill: '#555',
          fontSize: p.small,
        }),
        bucketDots(dots, layout, p),
        pileLabels(confidencePiles(data), layout, p),
        Plot.tickX(
          data,
          Plot.groupZ({ x: 'median' }, { x: 'confidence', fy: 'label', stroke: '#111', strokeWidth: 2.5 * p.scale }),
        ),
        ...(split === null
          ? []
          : [
              Plot.ruleX([split], {
                stroke: '#111',
                strokeDasharray: `${6 * p.scale},${4 * p.scale}`,
                strokeWidth: 1.5 * p.scale,
              }),
            ]),
      ],
    },
    p,
  ).svg;
}

const ordinal = (k: number): string => {
  const tens = k % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[k % 10] ?? 'th');
  return `${k}${suffix}`;
};

/** What a dot stands for: one prompt, or, for a rank sample, k of them (the sentence has always followed the split's). */
function dotsSentence(strip: { dots: readonly unknown[]; every: number }, prompts: number, hasSplit: boolean): string {
  if (strip.every > 1)
    return ` One dot per ${strip.every} prompts: every ${ordinal(strip.every)} of each row in order of confidence (${strip.dots.length} of ${prompts} drawn); n, the medians and "N at v" count every prompt. Black tick: median.`;
  return hasSplit ? ' One dot per prompt; black tick: median.' : '';
}

export function confidenceFourBucket(ctx: FigureContext): Figure {
  const p = presetOf(ctx);
  const rows = ctx.run.instances.flatMap((i) => {
    const o = outcomeOf(i);
    return o !== null && i.confidence !== null ? [{ outcome: o, confidence: i.confidence }] : [];
  });
  const counts = new Map(ORDER.map((o) => [o, rows.filter((r) => r.outcome === o).length]));
  const label = (o: Outcome): string => `${OUTCOME_LABELS[o]}\n(n = ${counts.get(o) ?? 0})`;
  const split = ctx.metrics.split.confidence;
  const ax = confidenceAxis(
    ctx,
    rows.map((r) => r.confidence),
    split,
  );
  const marginLeft = labelMargin(ORDER.map(label), p.font);
  const marginRight = 12 * p.scale + p.font;
  const plotWidth = p.width - marginLeft - marginRight;
  const { lo, hi } = ax;
  const toPx = (v: number): number =>
    ax.logScale ? (Math.log(v / lo) / Math.log(hi / lo || 2)) * plotWidth : ((v - lo) / (hi - lo || 1)) * plotWidth;
  const data = rows.map((r, i) => ({ ...r, label: label(r.outcome), jitter: ((i * 0.618034) % 1) - 0.5 }));
  // A large run draws a sample (see stripSample); the layout is that of the dots drawn.
  const strip = stripSample(data);
  const layout = swarmLayout(
    strip.dots.map((r) => ({ outcome: r.outcome, px: toPx(r.confidence) })),
    p,
  );
  const height = layout.rowHeight * ORDER.length + axisSpace(p).bottom + 8 * p.scale;
  const empty = ORDER.filter((o) => (counts.get(o) ?? 0) === 0).map((o) => ({ label: label(o) }));
  const drawn = rows.length > 0;
  const panelHeight = drawn ? height : p.font * 12;
  const panel = drawn
    ? bucketPlot(ctx, data, strip.dots, label, { ax, layout, height, marginLeft, marginRight }, empty)
    : noteSvg(ctx, 'No labelled decisions with a confidence: nothing to draw.', p.width, panelHeight);
  const footer =
    (split === null
      ? 'No confident/uncertain split could be computed.'
      : `Dashed line: confident/uncertain split at ${split.toFixed(2)} (p${ctx.metrics.split.percentile} of decision confidence).`) +
    dotsSentence(strip, rows.length, split !== null) +
    (layout.jitter ? ' Too many prompts to stack without overlap: dots are jittered vertically and translucent.' : '') +
    (confidencePiles(data).length > 0 ? ` "N at v": N prompts share exactly that confidence.` : '');
  return assembleFigure(ctx, {
    name: 'confidence_4bucket',
    title: 'Decision confidence by outcome',
    subtitle: `${runLabel(ctx)} · n = ${rows.length} labelled decisions`,
    caption: `Decision confidence of ${rows.length} labelled prompts by outcome.`,
    footer,
    panelHeight,
    panels: [{ svg: panel, x: 0, y: 0 }],
    legend: [
      { label: 'median', color: '#111', shape: 'line' as const },
      ...(split === null ? [] : [{ label: 'confident/uncertain split', color: '#111', shape: 'dashed' as const }]),
    ],
  });
}
