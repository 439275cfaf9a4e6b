import * as Plot from '@observablehq/plot';
import type { InstanceRecord } from '@deepconf-safety/run-store';
import { formatP, int, num, pct } from '../format.js';
import type { HypothesisResult } from '../hypothesis.js';
import type { RunMetrics } from '../metrics.js';
import type { RunData } from '../run-data.js';
import type { ThresholdSweep } from '../threshold-sweep.js';
import { FONT_SIZE, OKABE_ITO, OUTCOME_COLORS, OUTCOME_LABELS, type Outcome } from './palette.js';
import { composeFigure, textWidth, type PlotRenderer } from './render.js';

export interface FigureContext {
  run: RunData;
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
  sweep: ThresholdSweep | null;
  renderer: PlotRenderer;
  /** Seed for the bootstrap intervals drawn in figures. */
  seed: number;
}

/** A drawn figure: its file stem, the standalone SVG and a sentence for alt text and captions. */
export interface Figure {
  name: string;
  title: string;
  svg: string;
  caption: string;
}

const WIDTH = 1000;
/** Groups with fewer prompts than this are drawn pale: their rates are mostly noise. */
const SMALL_N = 3;
/** Below this many prompts per group a bootstrap interval is too optimistic to read as one. */
const SMALL_GROUP = 5;
const CONFIDENCE_LABEL = 'Decision confidence (DeepConf lowest-group confidence, nats; higher = more confident) →';

/** One decimal with a typographic minus, as printed figures use. */
const signed = (v: number): string => v.toFixed(1).replace(/^-/, '−');

function runLabel(ctx: FigureContext): string {
  const { metrics } = ctx;
  return [metrics.model ?? 'unknown model', metrics.benchmark ?? 'unknown benchmark', `run ${metrics.runId}`].join(' · ');
}

function outcomeOf(i: InstanceRecord): Outcome | null {
  if (i.decision === null || i.correct === null) return null;
  return `${i.correct ? 'correct' : 'incorrect'}_${i.decision === 'refuse' ? 'refusal' : 'compliance'}` as Outcome;
}

function noteSvg(ctx: FigureContext, text: string, width: number, height: number): string {
  return ctx.renderer.plot('note', {
    width,
    height,
    axis: null,
    marks: [Plot.frame({ stroke: '#bbb' }), Plot.text([text], { frameAnchor: 'middle', fontSize: 15, lineWidth: 40 })],
  }).svg;
}

export function confidenceFourBucket(ctx: FigureContext): Figure {
  const order: Outcome[] = ['correct_refusal', 'correct_compliance', 'incorrect_refusal', 'incorrect_compliance'];
  const rows = ctx.run.instances.flatMap((i) => {
    const o = outcomeOf(i);
    return o !== null && i.confidence !== null ? [{ outcome: o, confidence: i.confidence }] : [];
  });
  const counts = new Map(order.map((o) => [o, rows.filter((r) => r.outcome === o).length]));
  const label = (o: Outcome): string => `${OUTCOME_LABELS[o]} (n = ${counts.get(o) ?? 0})`;
  const data = rows.map((r) => ({ ...r, label: label(r.outcome) }));
  const split = ctx.metrics.split.confidence;
  const title = 'Decision confidence by outcome';
  // A few very confident prompts would squeeze everyone else into a sliver of a linear axis.
  const confs = rows.map((r) => r.confidence);
  const logScale = confs.length > 0 && Math.min(...confs) > 0 && Math.max(...confs) / Math.min(...confs) > 8;
  const empty = order.filter((o) => (counts.get(o) ?? 0) === 0).map((o) => ({ label: label(o) }));
  const labelWidth = Math.ceil(Math.max(...order.map((o) => textWidth(label(o), FONT_SIZE)))) + 20;
  let panel: string;
  if (data.length === 0) {
    panel = noteSvg(ctx, 'No labelled decisions with a confidence: nothing to draw.', WIDTH, 300);
  } else {
    panel = ctx.renderer.plot('confidence_4bucket', {
      width: WIDTH,
      height: 110 * order.length + 60,
      marginLeft: labelWidth,
      marginRight: 30,
      marginBottom: 50,
      x: logScale
        ? { type: 'log', label: `${CONFIDENCE_LABEL.replace(' →', '')}, log scale →`, labelAnchor: 'center', labelOffset: 40, grid: true, tickFormat: '~g' }
        : { label: CONFIDENCE_LABEL, labelAnchor: 'center', labelOffset: 40, grid: true, nice: true },
      fy: { domain: order.map(label), label: null, padding: 0.08 },
      color: { domain: order.map(label), range: order.map((o) => OUTCOME_COLORS[o]) },
      marks: [
        Plot.frame({ stroke: '#ddd' }),
        // An empty outcome keeps its row (so figures of different runs line up) but says why it is blank.
        Plot.text(empty, { fy: 'label', frameAnchor: 'middle', text: () => 'no prompts with this outcome', fill: '#666', fontSize: 13 }),
        Plot.dotX(data, Plot.dodgeY('middle', { x: 'confidence', fy: 'label', fill: 'label', r: 4.5, stroke: 'white', strokeWidth: 0.5, fillOpacity: 0.9 })),
        Plot.tickX(data, Plot.groupZ({ x: 'median' }, { x: 'confidence', fy: 'label', stroke: '#111', strokeWidth: 2.5 })),
        ...(split === null ? [] : [Plot.ruleX([split], { stroke: '#111', strokeDasharray: '6,4', strokeWidth: 1.5 })]),
      ],
    }).svg;
  }
  return {
    name: 'confidence_4bucket',
    title,
    svg: composeFigure({
      title,
      subtitle: `${runLabel(ctx)} · n = ${rows.length} labelled decisions`,
      width: WIDTH,
      panelHeight: data.length === 0 ? 300 : 110 * order.length + 60,
      panels: [{ svg: panel, x: 0, y: 0 }],
      legend: [
        ...order.map((o) => ({ label: OUTCOME_LABELS[o], color: OUTCOME_COLORS[o] })),
        { label: 'median', color: '#111', shape: 'line' as const },
      ],
      footer:
        split === null
          ? 'No confident/uncertain split could be computed.'
          : `Dashed line: confident/uncertain split at ${split.toFixed(2)} (p${ctx.metrics.split.percentile} of decision confidence). One dot per prompt.`,
      emulated: ctx.run.emulated,
    }),
    caption: `Decision confidence of ${rows.length} labelled prompts by outcome; dashed line = the confident/uncertain split.`,
  };
}

export function tokenSavings(ctx: FigureContext): Figure {
  const { tokens, perCategory } = ctx.metrics;
  const groups = [
    { category: 'All prompts', instances: ctx.metrics.instances, tokens: tokens.total, baseline: tokens.baseline, savings: tokens.savingsPercent },
    ...perCategory.map((c) => ({ category: c.category, instances: c.instances, tokens: c.tokens, baseline: c.baselineTokens, savings: c.savingsPercent })),
  ].map((g) => ({ ...g, label: `${g.category} (n = ${g.instances})` }));
  const domain = groups.map((g) => g.label);
  // Thousands only when counts are large; a tiny run would otherwise read "0.3".
  const maxTokens = Math.max(0, ...groups.map((g) => Math.max(g.baseline, g.tokens)));
  const scale = maxTokens >= 10_000 ? 1000 : 1;
  const fmt = (v: number): string => (scale === 1 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
  const bars = groups.flatMap((g) => [
    { label: g.label, series: 'Baseline (no early stop)', value: g.baseline / scale, small: g.instances < SMALL_N },
    { label: g.label, series: 'Actual', value: g.tokens / scale, small: g.instances < SMALL_N },
  ]);
  const rowH = 46;
  const height = rowH * groups.length + 70;
  // Category names are long (contrast_figurative_language): size the margin to the longest instead of cutting it.
  const marginLeft = Math.ceil(Math.max(...domain.map((d) => textWidth(d, FONT_SIZE)))) + 16;
  const leftWidth = marginLeft + 390;
  const rightWidth = 360;
  const width = Math.max(WIDTH, leftWidth + 10 + rightWidth);
  const opacity = (small: boolean): number => (small ? 0.45 : 1);
  const left = ctx.renderer.plot('token_savings', {
    width: leftWidth,
    height,
    marginTop: 20,
    marginLeft,
    marginRight: 60,
    marginBottom: 50,
    x: { label: scale === 1 ? 'Generated tokens →' : 'Generated tokens (thousands) →', labelAnchor: 'center', labelOffset: 40, grid: true, nice: true },
    fy: { domain, label: null, padding: 0.15 },
    y: { domain: ['Baseline (no early stop)', 'Actual'], axis: null },
    color: { domain: ['Baseline (no early stop)', 'Actual'], range: ['#B8B8B8', OKABE_ITO.blue] },
    marks: [
      Plot.barX(bars, { x: 'value', y: 'series', fy: 'label', fill: 'series', fillOpacity: (d: { small: boolean }) => opacity(d.small) }),
      Plot.text(bars, { x: 'value', y: 'series', fy: 'label', text: (d: { value: number }) => fmt(d.value), textAnchor: 'start', dx: 4, fontSize: 11 }),
      Plot.ruleX([0]),
    ],
  }).svg;
  const savingsOf = (g: { savings: number | null }): number => g.savings ?? 0;
  const right = ctx.renderer.plot('token_savings', {
    width: rightWidth,
    height,
    marginTop: 20,
    marginLeft: 20,
    marginRight: 60,
    marginBottom: 50,
    x: { label: 'Token savings (% of baseline) →', labelAnchor: 'center', labelOffset: 40, grid: true, domain: [Math.min(0, ...groups.map(savingsOf)), Math.max(10, ...groups.map(savingsOf))], nice: true },
    // The same facets as the left panel, so each category's bars line up across the two panels.
    fy: { domain, axis: null, padding: 0.15 },
    marks: [
      Plot.barX(groups, { x: savingsOf, fy: 'label', fill: OKABE_ITO.bluishGreen, fillOpacity: (g: { instances: number }) => opacity(g.instances < SMALL_N), insetTop: 6, insetBottom: 6 }),
      Plot.text(groups, { x: (g: { savings: number | null }) => Math.max(0, savingsOf(g)), fy: 'label', text: (g: { savings: number | null }) => (g.savings === null ? 'n/a' : `${g.savings.toFixed(1)}%`), textAnchor: 'start', dx: 4, fontSize: 12 }),
      Plot.ruleX([0]),
    ],
  }).svg;
  const smallCount = groups.filter((g) => g.instances < SMALL_N).length;
  const title = `Token savings from early stopping: ${tokens.savingsPercent === null ? 'n/a' : `${tokens.savingsPercent.toFixed(1)}%`} overall`;
  return {
    name: 'token_savings',
    title,
    svg: composeFigure({
      title,
      subtitle: `${runLabel(ctx)} · ${int(tokens.total)} of ${int(tokens.baseline)} baseline tokens · early-stop rate ${pct(ctx.metrics.earlyStop.value)} (${ctx.metrics.earlyStop.k} of ${ctx.metrics.earlyStop.n} final traces stopped)`,
      width,
      panelHeight: height + 22,
      panels: [
        { svg: left, x: 0, y: 0, heading: 'Tokens: baseline vs actual' },
        { svg: right, x: leftWidth + 10, y: 0, heading: 'Savings per category' },
      ],
      legend: [
        { label: 'Baseline (no early stop)', color: '#B8B8B8' },
        { label: 'Actual', color: OKABE_ITO.blue },
        { label: 'Savings', color: OKABE_ITO.bluishGreen },
      ],
      footer:
        (tokens.baselineEstimated ? 'Baseline partly estimated: some stopped traces had no unstopped counterpart (see report).' : 'Baseline: tokens the same traces would have used without early stopping.') +
        (smallCount > 0 ? ` Pale bars: fewer than ${SMALL_N} prompts, too few to compare categories.` : ''),
      emulated: ctx.run.emulated,
    }),
    caption: `Generated tokens versus the no-early-stop baseline, overall and per category (${ctx.metrics.instances} prompts).`,
  };
}

export function hypothesisValidation(ctx: FigureContext): Figure {
  const h = ctx.hypothesis;
  const title = 'Is low-confidence compliance riskier?';
  const height = 330;
  let panels;
  if (h.gap === null || h.fisher === null) {
    panels = [{ svg: noteSvg(ctx, h.statements[0]?.text ?? 'Not computable.', WIDTH - 20, height), x: 10, y: 0 }];
  } else {
    const groups = [
      { name: `Uncertain compliance\n(n = ${h.uncertainCompliance.n})`, r: h.uncertainCompliance, color: OKABE_ITO.vermillion },
      { name: `Confident compliance\n(n = ${h.confidentCompliance.n})`, r: h.confidentCompliance, color: OKABE_ITO.blue },
    ].map((g, i) => {
      // Wilson score intervals (never [100 %, 100 %] for 9/9, as a bootstrap of a 0 % or 100 % group would be).
      const ci = i === 0 ? h.intervals.uncertain : h.intervals.confident;
      return { ...g, acc: 100 * (g.r.value ?? 0), lo: 100 * ci.lower, hi: 100 * ci.upper, text: `${g.r.k}/${g.r.n} = ${pct(g.r.value)}` };
    });
    const left = ctx.renderer.plot('hypothesis_validation', {
      width: 540,
      height,
      marginTop: 30,
      marginLeft: 60,
      // Two-line group names: on one line they run into each other at the figure's font size.
      marginBottom: 56,
      x: { domain: groups.map((g) => g.name), label: null, tickSize: 0 },
      y: { domain: [0, 100], label: '↑ Accuracy (% correct decisions)', grid: true },
      marks: [
        Plot.ruleX(groups, { x: 'name', y1: 'lo', y2: 'hi', stroke: 'color', strokeWidth: 3 }),
        Plot.tickY(groups, { x: 'name', y: 'lo', stroke: 'color', strokeWidth: 2, inset: 95 }),
        Plot.tickY(groups, { x: 'name', y: 'hi', stroke: 'color', strokeWidth: 2, inset: 95 }),
        Plot.dot(groups, { x: 'name', y: 'acc', fill: 'color', r: 8, stroke: 'white' }),
        Plot.text(groups, { x: 'name', y: 'acc', text: 'text', dx: 14, textAnchor: 'start', fontSize: 13, fontWeight: 'bold' }),
      ],
    }).svg;
    const gap = h.gap;
    const g = [{ label: 'Confident − uncertain', est: 100 * gap.estimate, lo: 100 * gap.lower, hi: 100 * gap.upper }];
    const extent = Math.max(10, ...[g[0]!.lo, g[0]!.hi, g[0]!.est].map(Math.abs)) * 1.15;
    const fisherWords = `${h.fisher.pValue < h.alpha ? 'significant' : 'not significant'} (${formatP(h.fisher.pValue)}, n = ${h.uncertainCompliance.n + h.confidentCompliance.n})`;
    const right = ctx.renderer.plot('hypothesis_validation', {
      width: 440,
      height,
      marginLeft: 20,
      marginRight: 20,
      marginBottom: 50,
      x: { domain: [-extent, extent], label: 'Accuracy gap (percentage points) →', labelAnchor: 'center', labelOffset: 40, grid: true },
      y: { domain: ['Confident − uncertain'], axis: null },
      marks: [
        // The zero line starts below the test's wording so the two never cross (librsvg ignores text halos).
        Plot.ruleX([0], { stroke: '#111', strokeDasharray: '4,3', insetTop: 56 }),
        Plot.ruleY(g, { y: 'label', x1: 'lo', x2: 'hi', stroke: OKABE_ITO.reddishPurple, strokeWidth: 4 }),
        Plot.dot(g, { y: 'label', x: 'est', fill: OKABE_ITO.reddishPurple, r: 8, stroke: 'white' }),
        Plot.text([`Fisher's exact test:\n${fisherWords}`], { frameAnchor: 'top', dy: 8, fontSize: 13, fill: '#111', lineHeight: 1.3 }),
      ],
    }).svg;
    panels = [
      { svg: left, x: 0, y: 0, heading: `Compliance accuracy (${Math.round(100 * h.intervals.level)}% Wilson CI)` },
      { svg: right, x: 550, y: 0, heading: `Gap: ${signed(g[0]!.est)} pts, ${Math.round(100 * gap.level)}% Newcombe CI [${signed(g[0]!.lo)}, ${signed(g[0]!.hi)}]` },
    ];
  }
  // NaN (a row or column of the 2×2 table is empty) is "n/a", not infinity.
  const fisherLine = h.fisher ? `Fisher's exact ${formatP(h.fisher.pValue)}, odds ratio of an error ${num(h.fisher.oddsRatio, 2)}` : 'Fisher: not computable';
  const smallest = Math.min(h.uncertainCompliance.n, h.confidentCompliance.n);
  const smallNote =
    h.gap !== null && smallest < SMALL_GROUP
      ? ` Only ${smallest} prompt${smallest === 1 ? '' : 's'} in the smaller group: read the estimate with its wide interval.`
      : '';
  return {
    name: 'hypothesis_validation',
    title,
    svg: composeFigure({
      title,
      subtitle: `${runLabel(ctx)} · ${fisherLine}`,
      width: WIDTH,
      panelHeight: height + 22,
      panels,
      footer: `Split between uncertain and confident: decision confidence ${h.splitConfidence === null ? 'n/a' : h.splitConfidence.toFixed(2)}. Positive gap = uncertain compliance is less accurate.${smallNote}`,
      emulated: ctx.run.emulated,
    }),
    caption: `Accuracy of uncertain versus confident compliance with Wilson intervals, and the gap with its Newcombe interval; ${fisherLine}.`,
  };
}

export function accuracyVsTokens(ctx: FigureContext): Figure | null {
  const sweep = ctx.sweep;
  if (sweep === null || sweep.points.length === 0) return null;
  const pts = sweep.points
    .map((p) => ({
      ...p,
      tokensPct: p.baselineTokens > 0 ? (100 * p.tokens) / p.baselineTokens : 0,
      acc: p.accuracy === null ? 0 : 100 * p.accuracy,
      label: `η ${p.keepPercent}%`,
      above: true,
      shown: true,
    }))
    .sort((a, b) => a.tokensPct - b.tokensPct);
  const actual = ctx.metrics.tokens.baseline > 0 ? [{ tokensPct: (100 * ctx.metrics.tokens.total) / ctx.metrics.tokens.baseline, acc: 100 * (ctx.metrics.accuracy.value ?? 0) }] : [];
  // Zoom the token axis to the data (points are often a few percent apart) but always show the baseline at 100%.
  const xs = [...pts.map((p) => p.tokensPct), ...actual.map((a) => a.tokensPct)];
  const xMin = Math.max(0, Math.floor((Math.min(...xs) - 5) / 5) * 5);
  // Place labels above, else below, else merge into the previous label, so neighbouring thresholds never overprint.
  const toPx = (pct: number): number => ((pct - xMin) / (102 - xMin)) * (WIDTH - 110);
  let lastAbove = -Infinity;
  let lastBelow = -Infinity;
  let lastShown: (typeof pts)[number] | null = null;
  for (const p of pts) {
    const px = toPx(p.tokensPct);
    if (px - lastAbove >= 64) [p.above, lastAbove] = [true, px];
    else if (px - lastBelow >= 64) [p.above, lastBelow] = [false, px];
    else if (lastShown) {
      p.shown = false;
      lastShown.label += `, ${p.keepPercent}%`;
      continue;
    }
    lastShown = p;
  }
  const height = 420;
  const n = Math.max(...pts.map((p) => p.decided + p.undecided));
  const panel = ctx.renderer.plot('accuracy_vs_tokens', {
    width: WIDTH,
    height,
    // Room above 100% for the labels of points at the top, which would otherwise print over the legend.
    marginTop: 40,
    marginLeft: 70,
    marginRight: 40,
    marginBottom: 50,
    x: { label: 'Tokens generated (% of the no-early-stop baseline) →', labelAnchor: 'center', labelOffset: 40, grid: true, domain: [xMin, 102] },
    y: { label: '↑ Accuracy (% of labelled prompts)', domain: [0, 100], grid: true },
    marks: [
      Plot.ruleX([100], { stroke: '#999', strokeDasharray: '4,3' }),
      Plot.line(pts, { x: 'tokensPct', y: 'acc', stroke: OKABE_ITO.blue, strokeWidth: 2, sort: 'tokensPct' }),
      Plot.dot(pts, { x: 'tokensPct', y: 'acc', fill: OKABE_ITO.blue, r: 6, stroke: 'white' }),
      // Alternate labels above and below the line so neighbouring thresholds stay readable.
      Plot.text(pts.filter((p) => p.shown && p.above), { x: 'tokensPct', y: 'acc', text: 'label', dy: -16, fontSize: 12 }),
      Plot.text(pts.filter((p) => p.shown && !p.above), { x: 'tokensPct', y: 'acc', text: 'label', dy: 18, fontSize: 12 }),
      // Hollow, so the replay of the run's own setting (usually on the same spot) stays visible inside it.
      Plot.dot(actual, { x: 'tokensPct', y: 'acc', symbol: 'diamond', fill: 'none', r: 11, stroke: OKABE_ITO.vermillion, strokeWidth: 2.5 }),
      // Beside the diamond, not above it: above is where the replayed thresholds' labels go.
      Plot.text(actual, { x: 'tokensPct', y: 'acc', text: () => 'this run', dx: 15, textAnchor: 'start', fontSize: 12, fill: OKABE_ITO.vermillion, fontWeight: 'bold' }),
    ],
  }).svg;
  const missing = sweep.notComputable.length > 0 ? ` η = ${sweep.notComputable.join(', ')}% not computable from this run (lower thresholds than it stopped at).` : '';
  const title = 'Accuracy versus tokens across DeepConf thresholds';
  return {
    name: 'accuracy_vs_tokens',
    title,
    svg: composeFigure({
      title,
      subtitle: `${runLabel(ctx)} · replayed offline from recorded traces, window ${sweep.window} tokens · n = ${n} labelled prompts`,
      width: WIDTH,
      panelHeight: height,
      panels: [{ svg: panel, x: 0, y: 0 }],
      legend: [
        { label: 'Replayed threshold (η = share of warmup kept)', color: OKABE_ITO.blue, shape: 'dot' as const },
        { label: 'This run as recorded', color: OKABE_ITO.vermillion, shape: 'diamond' as const },
      ],
      footer: `Higher η = lower threshold = fewer stops.${missing}`,
      emulated: ctx.run.emulated,
    }),
    caption: `Accuracy against tokens when the recorded traces are replayed under other thresholds.${missing}`,
  };
}

export function confidenceTraces(ctx: FigureContext, maxPerGroup = 60): Figure | null {
  const window = ctx.sweep?.window ?? null;
  const finals = ctx.run.traces.filter((t) => t.phase === 'final' && t.threshold !== null && (t.stopReason === 'early_stopped' || t.stopReason === 'finished'));
  if (window === null || finals.length === 0) return null;
  const stoppedAll = finals.filter((t) => t.stopReason === 'early_stopped');
  const finishedAll = finals.filter((t) => t.stopReason === 'finished');
  // Evenly spaced picks rather than random ones: deterministic and representative of the whole run.
  const pick = <T>(xs: T[]): T[] => (xs.length <= maxPerGroup ? xs : Array.from({ length: maxPerGroup }, (_, i) => xs[Math.floor((i * xs.length) / maxPerGroup)]!));
  const rows: Array<{ trace: string; group: string; token: number; margin: number }> = [];
  for (const [group, traces] of [['Finished', pick(finishedAll)], ['Stopped early', pick(stoppedAll)]] as const) {
    for (const t of traces) {
      const confs = t.confidences;
      let sum = 0;
      for (let i = 0; i < confs.length; i++) {
        sum += confs[i]!;
        if (i >= window) sum -= confs[i - window]!;
        if (i >= window - 1) rows.push({ trace: `${t.instanceId}#${t.traceIndex}`, group, token: i + 1, margin: sum / window - (t.threshold as number) });
      }
    }
  }
  const colors = { Finished: OKABE_ITO.blue, 'Stopped early': OKABE_ITO.vermillion };
  const height = 420;
  // End-of-answer tokens and collapsing traces reach ±50 nats and would flatten the band around the threshold
  // where stopping is decided: show the 1st–99th percentile (always including the threshold) and clip the rest.
  const sorted = rows.map((r) => r.margin).sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))] ?? 0;
  const lo = Math.min(q(0.01), -0.5);
  const hi = Math.max(q(0.99), 0.5);
  const pad = 0.08 * (hi - lo);
  const yDomain: [number, number] = [lo - pad, hi + pad];
  const clipped = rows.filter((r) => r.margin < yDomain[0] || r.margin > yDomain[1]).length;
  const stops = rows
    .filter((r, i) => r.group === 'Stopped early' && rows[i + 1]?.trace !== r.trace)
    .map((r) => ({ ...r, shown: Math.min(yDomain[1], Math.max(yDomain[0], r.margin)), symbol: r.margin < yDomain[0] ? 'triangle' : 'circle' }));
  const stopsBelow = stops.filter((r) => r.symbol === 'triangle').length;
  // Most stops often come at the very first full window, where they pile up on one x: say how many.
  const firstWindowStops = stoppedAll.filter((t) => t.stoppedAtToken !== null && t.stoppedAtToken + 1 <= window).length;
  const panel = ctx.renderer.plot('confidence_traces', {
    width: WIDTH,
    height,
    marginLeft: 70,
    marginRight: 30,
    marginBottom: 50,
    x: { label: 'Tokens generated →', labelAnchor: 'center', labelOffset: 40, grid: true, insetLeft: 12 },
    y: { label: '↑ Window confidence minus the prompt’s threshold (nats)', grid: true, domain: yDomain },
    color: { domain: Object.keys(colors), range: Object.values(colors) },
    clip: true,
    marks: [
      Plot.ruleY([0], { stroke: '#111', strokeDasharray: '6,4', strokeWidth: 1.5 }),
      Plot.line(rows, { x: 'token', y: 'margin', z: 'trace', stroke: 'group', strokeOpacity: 0.45, strokeWidth: 1.2 }),
      Plot.dot(stops, { x: 'token', y: 'shown', symbol: 'symbol', fill: OKABE_ITO.vermillion, r: 3.5, clip: false }),
      ...(stopsBelow > 0
        ? [Plot.text([`▼ ${stopsBelow} stop${stopsBelow === 1 ? '' : 's'} below the axis`], { frameAnchor: 'bottom-left', dx: 22, dy: -6, textAnchor: 'start', fontSize: 12, fill: OKABE_ITO.vermillion, stroke: 'white', strokeWidth: 4 } as Plot.TextOptions)]
        : []),
      Plot.text(['threshold'], { frameAnchor: 'right', y: 0, dy: -8, dx: -4, fontSize: 12, textAnchor: 'end' } as Plot.TextOptions),
    ],
  }).svg;
  const title = 'Sliding-window confidence of stopped versus finished traces';
  return {
    name: 'confidence_traces',
    title,
    svg: composeFigure({
      title,
      subtitle: `${runLabel(ctx)} · window ${window} tokens · showing ${Math.min(maxPerGroup, finishedAll.length)} of ${finishedAll.length} finished and ${Math.min(maxPerGroup, stoppedAll.length)} of ${stoppedAll.length} stopped final traces`,
      width: WIDTH,
      panelHeight: height,
      panels: [{ svg: panel, x: 0, y: 0 }],
      legend: [
        { label: `Finished (n = ${finishedAll.length})`, color: OKABE_ITO.blue, shape: 'line' },
        { label: `Stopped early (n = ${stoppedAll.length}); dot = stop`, color: OKABE_ITO.vermillion, shape: 'line' },
      ],
      footer:
        'A trace stops at the first full window whose mean confidence falls below its prompt’s threshold (the dashed line).' +
        (clipped > 0 ? ` Vertical axis cut to the 1st–99th percentile: ${clipped} of ${rows.length} window values lie outside.` : '') +
        (firstWindowStops > 0 ? ` ${firstWindowStops} of ${stoppedAll.length} stopped traces stopped at the first full window (token ${window}).` : ''),
      emulated: ctx.run.emulated,
    }),
    caption: 'Sliding-window confidence relative to each prompt’s threshold, for stopped and finished final traces.',
  };
}

/** Every figure the report shows, in reading order; figures a run cannot support are left out. */
export function allFigures(ctx: FigureContext): Figure[] {
  return [confidenceFourBucket(ctx), tokenSavings(ctx), hypothesisValidation(ctx), accuracyVsTokens(ctx), confidenceTraces(ctx)].filter((f): f is Figure => f !== null);
}
