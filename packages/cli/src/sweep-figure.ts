import * as Plot from '@observablehq/plot';
import { OKABE_ITO, PlotRenderer, composeFigure, rasterize } from '@deepconf-safety/reporting';
import type { SweepRow } from '@deepconf-safety/runner';
import { settingLabel, type SweepReport } from './sweep-format.js';

const WIDTH = 960;
const PLOT_HEIGHT = 520;
const LEGEND_HEIGHT = 70;
const PALETTE = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.skyBlue,
  OKABE_ITO.vermillion,
  OKABE_ITO.yellow,
  OKABE_ITO.grey,
];
const SYMBOLS = ['circle', 'square', 'triangle', 'diamond', 'star', 'cross', 'wye', 'times'];

/**
 * Data extent widened to at least `minHalf` either side of its centre (a fraction of the centre when below 1), so a
 * single setting, or settings that tie, get a readable axis instead of one degenerate tick.
 */
function padded(values: readonly number[], minHalf: number, floor = -Infinity, ceil = Infinity): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const centre = (lo + hi) / 2;
  const half = Math.max((hi - lo) / 2 + (hi - lo) * 0.08, minHalf < 1 ? Math.abs(centre) * minHalf : minHalf);
  // Against a bound (accuracy 100%), keep the full span by extending the other way.
  return [
    Math.max(floor, Math.min(centre - half, ceil - 2 * half)),
    Math.min(ceil, Math.max(centre + half, floor + 2 * half)),
  ];
}

interface Point {
  tokens: number;
  accuracy: number;
  keep: string;
  window: string;
  label: string;
  pareto: boolean;
  recorded: boolean;
}

/**
 * Accuracy against tokens for every computable setting (colour = keep η, shape = window), the Pareto front as a
 * line through its settings (labelled), and the no-early-stop references. An emulated run carries a red banner
 * that cannot be cropped off without the title.
 */
export function sweepFigureSvg(report: SweepReport): string {
  const renderer = new PlotRenderer();
  try {
    return drawSweep(report, renderer);
  } finally {
    renderer.close();
  }
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one Plot specification, read top to bottom; 81 lines
function drawSweep(report: SweepReport, renderer: PlotRenderer): string {
  const rows = report.sweep.rows.filter(
    (r): r is SweepRow & { tokens: number; accuracy: number } =>
      r.computable && r.tokens !== null && r.accuracy !== null,
  );
  const keeps = [...new Set(report.sweep.rows.map((r) => r.keepPercent))].sort((a, b) => a - b).map((k) => `η ${k}%`);
  const windows = [...new Set(report.sweep.rows.map((r) => r.window))].sort((a, b) => a - b).map((w) => `window ${w}`);
  const points: Point[] = rows.map((r) => ({
    tokens: r.tokens,
    accuracy: 100 * r.accuracy,
    keep: `η ${r.keepPercent}%`,
    window: `window ${r.window}`,
    label: settingLabel(r),
    pareto: r.pareto,
    recorded: r.recorded,
  }));
  const front = points.filter((p) => p.pareto).sort((a, b) => a.tokens - b.tokens);
  const ref = report.reference;
  const refs = [
    ...(ref.baselineTokens !== null && ref.deepconfVoteAccuracy !== null
      ? [
          {
            tokens: ref.baselineTokens,
            accuracy: 100 * ref.deepconfVoteAccuracy,
            label: 'no early stop, DeepConf vote',
          },
        ]
      : []),
    ...(ref.baselineTokens !== null && ref.majorityAccuracy !== null
      ? [{ tokens: ref.baselineTokens, accuracy: 100 * ref.majorityAccuracy, label: 'no early stop, plain majority' }]
      : []),
  ];
  const skipped = report.sweep.rows.length - rows.length;

  let panel: string;
  if (points.length === 0) {
    panel = renderer.plot('accuracy_vs_tokens', {
      width: WIDTH,
      height: 200,
      axis: null,
      marks: [
        Plot.frame({ stroke: '#bbb' }),
        Plot.text(['No computable setting with labelled, decided prompts: nothing to draw.'], {
          frameAnchor: 'middle',
          fontSize: 15,
        }),
      ],
    }).svg;
  } else {
    panel = renderer.plot('accuracy_vs_tokens', {
      width: WIDTH,
      height: PLOT_HEIGHT,
      marginLeft: 70,
      marginRight: 190,
      marginBottom: 50,
      marginTop: 34, // room for the labels of settings at the top of the range
      x: {
        label: 'Tokens generated, all prompts →',
        grid: true,
        nice: true,
        tickFormat: ',.0f',
        ticks: 8,
        labelAnchor: 'center',
        labelOffset: 40,
        domain: padded(
          [...points, ...refs].map((p) => p.tokens),
          0.05,
          0,
        ),
      },
      y: {
        label: '↑ Accuracy (% of labelled prompts)',
        grid: true,
        nice: true,
        domain: padded(
          [...points, ...refs].map((p) => p.accuracy),
          5,
          0,
          100,
        ),
      },
      color: { domain: keeps, range: PALETTE.slice(0, keeps.length) },
      symbol: { domain: windows, range: SYMBOLS.slice(0, windows.length) },
      marks: [
        Plot.frame({ stroke: '#ddd' }),
        Plot.line(front, { x: 'tokens', y: 'accuracy', stroke: '#111', strokeWidth: 1.5, strokeDasharray: '5,3' }),
        Plot.dot(points, {
          x: 'tokens',
          y: 'accuracy',
          fill: 'keep',
          symbol: 'window',
          r: 5,
          fillOpacity: 0.75,
          stroke: 'white',
          strokeWidth: 0.6,
        }),
        Plot.dot(front, {
          x: 'tokens',
          y: 'accuracy',
          symbol: 'window',
          r: 9,
          stroke: '#111',
          strokeWidth: 1.6,
          fill: 'none',
        }),
        Plot.text(front, {
          x: 'tokens',
          y: 'accuracy',
          text: 'label',
          dy: -15,
          fontSize: 11,
          fill: '#111',
          stroke: 'white',
          strokeWidth: 3,
          paintOrder: 'stroke',
        }),
        Plot.dot(
          points.filter((p) => p.recorded),
          {
            x: 'tokens',
            y: 'accuracy',
            r: 13,
            stroke: OKABE_ITO.vermillion,
            strokeWidth: 1.6,
            strokeDasharray: '2,2',
            fill: 'none',
          },
        ),
        Plot.dot(refs, { x: 'tokens', y: 'accuracy', symbol: 'diamond2', r: 7, stroke: '#111', strokeWidth: 1.6 }),
        Plot.text(refs, {
          x: 'tokens',
          y: 'accuracy',
          text: 'label',
          dx: 12,
          textAnchor: 'start',
          fontSize: 11,
          fill: '#333',
          stroke: 'white',
          strokeWidth: 3,
          paintOrder: 'stroke',
        }),
      ],
    }).svg;
  }

  // Legend rows are Plot marks too, so shapes and colours match the chart exactly.
  const legendItems = [
    ...keeps.map((k, i) => ({ x: i, y: 0, text: k, fill: PALETTE[i] ?? '#888', symbol: 'circle' })),
    ...windows.map((w, i) => ({ x: i, y: 1, text: w, fill: '#666', symbol: SYMBOLS[i] ?? 'circle' })),
  ];
  const columns = Math.max(keeps.length, windows.length, 1);
  const legend = renderer.plot('accuracy_vs_tokens legend', {
    width: Math.min(WIDTH, 40 + columns * 130),
    height: 56,
    margin: 12,
    axis: null,
    x: { domain: [0, columns] },
    y: { domain: [0, 1], reverse: true },
    marks: [
      Plot.dot(legendItems, { x: 'x', y: 'y', fill: 'fill', symbol: 'symbol', r: 5 }),
      Plot.text(legendItems, { x: 'x', y: 'y', text: 'text', dx: 10, textAnchor: 'start', fontSize: 12 }),
    ],
  }).svg;

  const s = report.recordedSettings;
  const title = 'Accuracy versus tokens: DeepConf settings replayed from one recorded run';
  const who = [report.run.model, report.run.benchmark].filter((x): x is string => x !== null).join(' · ');
  const subtitle = `${who ? `${who} · ` : ''}run ${report.run.runId} · ${report.sweep.rows[0]?.instances ?? 0} prompts × ${s.traces} traces · ${s.calibration} calibration`;
  const footer =
    `Dashed line and ringed points: Pareto front (label W = window, η = keep %, w = warmup). Dashed red ring: the run's own setting. Diamonds: every trace in full.` +
    (skipped > 0 ? ` ${skipped} setting(s) not drawn (not computable, or no accuracy).` : '');

  const panelHeight = points.length === 0 ? 200 : PLOT_HEIGHT;
  return composeFigure({
    title,
    subtitle,
    width: WIDTH,
    // The legend is a Plot of its own (symbols and colours exactly as in the chart), stacked above the chart.
    panelHeight: LEGEND_HEIGHT + panelHeight,
    panels: [
      { svg: legend, x: 16, y: 0 },
      { svg: panel, x: 0, y: LEGEND_HEIGHT },
    ],
    footer,
    emulated: report.emulated,
  });
}

/** PNG at twice the CSS size (144 dpi), sharp enough for slides and print. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return rasterize('accuracy_vs_tokens', svg);
}
