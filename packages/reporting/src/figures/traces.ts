import * as Plot from '@observablehq/plot';
import {
  assembleFigure,
  yLabelTop,
  yAxisMargin,
  axisSpace,
  presetOf,
  runLabel,
  type Figure,
  type FigureContext,
} from './common.js';
import { OKABE_ITO } from './palette.js';

type TraceGroup = 'Finished' | 'Stopped early';
type RunTrace = FigureContext['run']['traces'][number];

interface WindowRow {
  trace: string;
  group: TraceGroup;
  token: number;
  margin: number;
}

interface StopRow extends WindowRow {
  shown: number;
  symbol: 'triangle' | 'circle';
}

/** Evenly spaced picks rather than random ones: deterministic and representative of the whole run. */
function evenPick<T>(xs: T[], most: number): T[] {
  return xs.length <= most ? xs : Array.from({ length: most }, (_, i) => xs[Math.floor((i * xs.length) / most)]!);
}

/** Every full window of each trace: its mean confidence minus the trace's threshold. */
function windowMargins(
  groups: ReadonlyArray<readonly [TraceGroup, RunTrace[]]>,
  window: number,
  valuesOf: (t: RunTrace) => Float64Array,
): WindowRow[] {
  const rows: WindowRow[] = [];
  for (const [group, traces] of groups) {
    for (const t of traces) {
      const confs = valuesOf(t);
      let sum = 0;
      for (let i = 0; i < confs.length; i++) {
        sum += confs[i]!;
        if (i >= window) sum -= confs[i - window]!;
        if (i >= window - 1)
          rows.push({
            trace: `${t.instanceId}#${t.traceIndex}`,
            group,
            token: i + 1,
            margin: sum / window - (t.threshold as number),
          });
      }
    }
  }
  return rows;
}

/**
 * End-of-answer tokens and collapsing traces reach ±50 nats and would flatten the band around the threshold
 * where stopping is decided: show the 1st–99th percentile (always including the threshold) and clip the rest.
 */
function marginDomain(rows: readonly WindowRow[]): [number, number] {
  const sorted = rows.map((r) => r.margin).sort((a, b) => a - b);
  const q = (x: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(x * (sorted.length - 1))))] ?? 0;
  const lo = Math.min(q(0.01), -0.5);
  const hi = Math.max(q(0.99), 0.5);
  const pad = 0.08 * (hi - lo);
  return [lo - pad, hi + pad];
}

/** The last window of each stopped trace, held inside the axis (a triangle on the edge when it lies below). */
function stopPoints(rows: readonly WindowRow[], yDomain: [number, number]): StopRow[] {
  return rows
    .filter((r, i) => r.group === 'Stopped early' && rows[i + 1]?.trace !== r.trace)
    .map((r) => ({
      ...r,
      shown: Math.min(yDomain[1], Math.max(yDomain[0], r.margin)),
      symbol: r.margin < yDomain[0] ? 'triangle' : 'circle',
    }));
}

/** The window lines of both groups, the threshold at 0 (dashed) and a dot where each stopped trace stopped. */
function tracesPlot(
  ctx: FigureContext,
  rows: readonly WindowRow[],
  stops: readonly StopRow[],
  yDomain: [number, number],
  height: number,
): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const colors = { Finished: OKABE_ITO.blue, 'Stopped early': OKABE_ITO.vermillion };
  return ctx.renderer.plot(
    'confidence_traces',
    {
      width: p.width,
      height,
      marginTop: yLabelTop(p),
      marginLeft: yAxisMargin(p, '−10.0'),
      marginRight: 12 * p.scale,
      marginBottom: axis.bottom,
      x: {
        label: 'Tokens generated →',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        insetLeft: 6 * p.scale,
        ticks: p.narrow ? 5 : 10,
      },
      y: { label: '↑ Window confidence − threshold (nats)', grid: true, domain: yDomain, ticks: p.narrow ? 5 : 8 },
      color: { domain: Object.keys(colors), range: Object.values(colors) },
      clip: true,
      marks: [
        Plot.ruleY([0], {
          stroke: '#111',
          strokeDasharray: `${6 * p.scale},${4 * p.scale}`,
          strokeWidth: 1.5 * p.scale,
        }),
        Plot.line(rows, {
          x: 'token',
          y: 'margin',
          z: 'trace',
          stroke: 'group',
          strokeOpacity: 0.45,
          strokeWidth: 1.2 * p.scale,
        }),
        Plot.dot(stops, {
          x: 'token',
          y: 'shown',
          symbol: 'symbol',
          fill: OKABE_ITO.vermillion,
          r: 3.5 * p.scale,
          clip: false,
        }),
      ],
    },
    p,
  ).svg;
}

/** How to read the figure, and what it leaves out: clipped values, stops below the axis, first-window stops. */
function tracesFooter(
  counts: { clipped: number; rows: number; stopsBelow: number; firstWindow: number; stopped: number },
  window: number,
): string {
  const { clipped, stopsBelow, firstWindow } = counts;
  return (
    'A trace stops at the first full window whose mean confidence falls below its prompt’s threshold (the dashed line at 0).' +
    (clipped > 0
      ? ` Vertical axis cut to the 1st–99th percentile: ${clipped} of ${counts.rows} window values lie outside.`
      : '') +
    (stopsBelow > 0
      ? ` ${stopsBelow} stop${stopsBelow === 1 ? '' : 's'} below the axis drawn as triangles on its edge.`
      : '') +
    (firstWindow > 0
      ? ` ${firstWindow} of ${counts.stopped} stopped traces stopped at the first full window (token ${window}).`
      : '')
  );
}

/** Sliding-window confidence of stopped and finished final traces, relative to each prompt's threshold. */
export function confidenceTraces(ctx: FigureContext, maxPerGroup = 60): Figure | null {
  const p = presetOf(ctx);
  const window = ctx.sweep?.window ?? null;
  const finals = ctx.run.traces.filter(
    (t) =>
      t.phase === 'final' && t.threshold !== null && (t.stopReason === 'early_stopped' || t.stopReason === 'finished'),
  );
  if (window === null || finals.length === 0) return null;
  const stoppedAll = finals.filter((t) => t.stopReason === 'early_stopped');
  const finishedAll = finals.filter((t) => t.stopReason === 'finished');
  const rows = windowMargins(
    [
      ['Finished', evenPick(finishedAll, maxPerGroup)],
      ['Stopped early', evenPick(stoppedAll, maxPerGroup)],
    ],
    window,
    (t) => ctx.run.readConfidences(t),
  );
  const height = Math.round(p.font * (p.narrow ? 20 : 26));
  const yDomain = marginDomain(rows);
  const stops = stopPoints(rows, yDomain);
  const panel = tracesPlot(ctx, rows, stops, yDomain, height);
  const footer = tracesFooter(
    {
      clipped: rows.filter((r) => r.margin < yDomain[0] || r.margin > yDomain[1]).length,
      rows: rows.length,
      stopsBelow: stops.filter((r) => r.symbol === 'triangle').length,
      // Most stops often come at the very first full window, where they pile up on one x: say how many.
      firstWindow: stoppedAll.filter((t) => t.stoppedAtToken !== null && t.stoppedAtToken + 1 <= window).length,
      stopped: stoppedAll.length,
    },
    window,
  );
  return assembleFigure(ctx, {
    name: 'confidence_traces',
    title: 'Sliding-window confidence of stopped versus finished traces',
    subtitle: `${runLabel(ctx)} · window ${window} tokens · showing ${Math.min(maxPerGroup, finishedAll.length)} of ${finishedAll.length} finished and ${Math.min(maxPerGroup, stoppedAll.length)} of ${stoppedAll.length} stopped final traces`,
    caption: 'Sliding-window confidence relative to each prompt’s threshold, for stopped and finished final traces.',
    footer,
    panelHeight: height,
    panels: [{ svg: panel, x: 0, y: 0 }],
    legend: [
      { label: `Finished (n = ${finishedAll.length})`, color: OKABE_ITO.blue, shape: 'line' },
      { label: `Stopped early (n = ${stoppedAll.length}); dot = stop`, color: OKABE_ITO.vermillion, shape: 'line' },
      { label: 'threshold', color: '#111', shape: 'dashed' },
    ],
  });
}
