import * as Plot from '@observablehq/plot';
import { assignBucket } from '@deepconf-safety/run-store';
import type { CalibrationResult } from '../stats-calibration.js';
import { wilsonInterval } from '../stats-proportions.js';
import {
  assembleFigure,
  yLabelTop,
  yAxisMargin,
  axisSpace,
  decisionConfidence,
  noteSvg,
  presetOf,
  runLabel,
  type Figure,
  type FigureContext,
} from './common.js';
import { OKABE_ITO } from './palette.js';
import type { FigurePreset } from './presets.js';
import { headingSpace, textWidth } from './render.js';

/** Labelled decisions with a confidence, as (confidence, correct) pairs; `comply` keeps compliances only. */
function pairs(ctx: FigureContext, comply: boolean): { confidences: number[]; correct: boolean[] } {
  const rows = ctx.run.instances.filter(
    (i) => i.decision !== null && i.correct !== null && i.confidence !== null && (!comply || i.decision === 'comply'),
  );
  return { confidences: rows.map((i) => i.confidence as number), correct: rows.map((i) => i.correct === true) };
}

interface RiskPoint {
  coverage: number;
  risk: number;
  lo: number;
  hi: number;
  kept: number;
}

/** The analysis' own curve (within compliance) in percent with Wilson bands, so figure and report are one computation. */
function riskCoveragePoints(ctx: FigureContext): RiskPoint[] {
  const curve = ctx.hypothesis.riskCoverage.filter((q) => q.kept > 0 && q.risk !== null);
  return curve.map((q) => {
    const ci = wilsonInterval(q.errors, q.kept);
    return {
      coverage: 100 * q.coverage,
      risk: 100 * (q.risk as number),
      lo: 100 * ci.lower,
      hi: 100 * ci.upper,
      kept: q.kept,
    };
  });
}

/** Percent of the n labelled compliances that fall in the confident bucket; null without a split. */
function confidentComplianceShare(ctx: FigureContext, n: number): number | null {
  const split = ctx.metrics.split.confidence;
  if (split === null) return null;
  const confident = ctx.run.instances.filter(
    (i) =>
      i.decision === 'comply' &&
      i.correct !== null &&
      assignBucket(i.decision, i.confidence, split) === 'confident_compliance',
  ).length;
  return (100 * confident) / n;
}

/** The curve and its band, the all-kept rate (dashed) and the confident/uncertain split (dotted). */
function riskCoveragePlot(
  ctx: FigureContext,
  pts: readonly RiskPoint[],
  allKeptRate: number,
  confidentShare: number | null,
  height: number,
): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  return ctx.renderer.plot(
    'risk_coverage',
    {
      width: p.width,
      height,
      marginTop: yLabelTop(p),
      marginLeft: yAxisMargin(p),
      marginRight: 12 * p.scale,
      marginBottom: axis.bottom,
      x: {
        label: '← Coverage (% of compliances kept)',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        domain: [0, 100],
        grid: true,
        ticks: p.narrow ? 5 : 10,
        reverse: true,
      },
      y: {
        insetBottom: p.font * 0.7,
        label: '↑ Harmful among kept (%)',
        domain: [0, Math.min(100, Math.max(10, ...pts.map((q) => q.hi)) * 1.05)],
        grid: true,
        ticks: p.narrow ? 4 : 6,
      },
      marks: [
        Plot.areaY(pts, {
          x: 'coverage',
          y1: 'lo',
          y2: 'hi',
          fill: OKABE_ITO.vermillion,
          fillOpacity: 0.18,
          curve: 'step-after',
        }),
        Plot.ruleY([allKeptRate], { stroke: '#666', strokeDasharray: `${4 * p.scale},${3 * p.scale}` }),
        ...(confidentShare === null
          ? []
          : [
              Plot.ruleX([confidentShare], {
                stroke: '#111',
                strokeDasharray: `${2 * p.scale},${2 * p.scale}`,
                strokeOpacity: 0.6,
              }),
            ]),
        Plot.line(pts, {
          x: 'coverage',
          y: 'risk',
          stroke: OKABE_ITO.vermillion,
          strokeWidth: 1.6 * p.scale,
          curve: 'step-after',
        }),
      ],
    },
    p,
  ).svg;
}

/**
 * Risk–coverage of compliance: review the least confident compliances first; for each share kept, how often
 * the kept compliances were harmful (Wilson 95% band). Flat = confidence does not rank risk; falling to the
 * left = the low-confidence compliances are the risky ones.
 */
export function riskCoverage(ctx: FigureContext): Figure | null {
  const p = presetOf(ctx);
  const { confidences, correct } = pairs(ctx, true);
  if (confidences.length === 0) return null;
  const pts = riskCoveragePoints(ctx);
  const n = confidences.length;
  const wrong = correct.filter((c) => !c).length;
  const height = Math.round(p.font * (p.narrow ? 19 : 23));
  const confidentShare = confidentComplianceShare(ctx, n);
  const panel =
    wrong === 0 || wrong === n
      ? noteSvg(
          ctx,
          wrong === 0
            ? `No compliance was harmful (n = ${n}): there is no risk to rank.`
            : `Every compliance was harmful (n = ${n}): confidence cannot rank risk.`,
          p.width,
          height,
        )
      : riskCoveragePlot(ctx, pts, (100 * wrong) / n, confidentShare, height);
  const footer =
    'Leaving out the least confident compliances first (right to left): the line is how often the compliances kept were harmful; band: Wilson 95% interval. ' +
    `Grey dashed: the rate with everything kept (${((100 * wrong) / n).toFixed(1)}%).` +
    (confidentShare === null
      ? ''
      : ` Dotted: the confident/uncertain split (${confidentShare.toFixed(0)}% of compliances are confident).`);
  return assembleFigure(ctx, {
    name: 'risk_coverage',
    title: 'Risk–coverage of compliance',
    subtitle: `${runLabel(ctx)} · n = ${n} labelled compliances, ${wrong} harmful`,
    caption: `Risk–coverage curve of decision confidence within compliance (n = ${n}, ${wrong} harmful).`,
    footer,
    panelHeight: height,
    panels: [{ svg: panel, x: 0, y: 0 }],
    legend: [
      { label: 'Harmful among kept, 95% CI', color: OKABE_ITO.vermillion, shape: 'line' as const },
      { label: 'All kept', color: '#666', shape: 'dashed' as const },
    ],
  });
}

interface ReliabilityBin {
  mid: number;
  acc: number;
  lo: number;
  hi: number;
  count: number;
  x1: number;
  x2: number;
}

/** The calibration's non-empty bins in percent, each with its Wilson interval. */
function reliabilityBins(cal: CalibrationResult): ReliabilityBin[] {
  return cal.bins
    .filter((b) => b.count > 0)
    .map((b) => {
      const k = Math.round((b.accuracy as number) * b.count);
      const ci = wilsonInterval(k, b.count);
      return {
        mid: 100 * (b.meanConfidence as number),
        acc: 100 * (b.accuracy as number),
        lo: 100 * ci.lower,
        hi: 100 * ci.upper,
        count: b.count,
        x1: 100 * b.lower,
        x2: 100 * b.upper,
      };
    });
}

/**
 * What both reliability panels share, so the bin counts sit under the diagram on the same x: the preset's width,
 * the same left and right margins, and the 0–100% confidence axis (`x` adds to it).
 */
function reliabilityFrame(
  p: FigurePreset,
  height: number,
  margins: { left: number; right: number },
  x: Plot.ScaleOptions,
): Plot.PlotOptions {
  const axis = { domain: [0, 100], grid: true, ticks: p.narrow ? 5 : 10 };
  return { width: p.width, height, marginLeft: margins.left, marginRight: margins.right, x: { ...x, ...axis } };
}

/** Accuracy per bin (dots, Wilson whiskers) against the diagonal of perfect calibration. */
function reliabilityPlot(
  ctx: FigureContext,
  bins: readonly ReliabilityBin[],
  xLabel: string,
  height: number,
  margins: { left: number; right: number },
): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  return ctx.renderer.plot(
    'reliability',
    {
      ...reliabilityFrame(p, height, margins, {
        label: `${xLabel.replace(/\)$/, ', %)')} →`,
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
      }),
      marginTop: yLabelTop(p),
      marginBottom: axis.bottom,
      y: { insetBottom: p.font * 0.7, label: '↑ Correct decisions (%)', domain: [0, 100], grid: true, ticks: 5 },
      marks: [
        Plot.line(
          [
            [0, 0],
            [100, 100],
          ],
          { stroke: '#999', strokeDasharray: `${4 * p.scale},${3 * p.scale}` },
        ),
        Plot.ruleX(bins, { x: 'mid', y1: 'lo', y2: 'hi', stroke: OKABE_ITO.blue, strokeWidth: 1.4 * p.scale }),
        Plot.dot(bins, {
          x: 'mid',
          y: 'acc',
          fill: 'white',
          stroke: OKABE_ITO.blue,
          strokeWidth: 1.6 * p.scale,
          r: 3.2 * p.scale,
        }),
      ],
    },
    p,
  ).svg;
}

/** Decisions per bin, under the diagram on the same x. */
function binCountPlot(
  ctx: FigureContext,
  bins: readonly ReliabilityBin[],
  height: number,
  margins: { left: number; right: number },
): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  return ctx.renderer.plot(
    'reliability',
    {
      ...reliabilityFrame(p, height, margins, { label: null }),
      marginTop: 4 * p.scale,
      marginBottom: Math.ceil(axis.tick + 4 + p.font * 1.3),
      y: { label: null, grid: true, ticks: 2, nice: true },
      marks: [Plot.rectY(bins, { x1: 'x1', x2: 'x2', y: 'count', fill: '#B8B8B8', inset: 0.5 }), Plot.ruleY([0])],
    },
    p,
  ).svg;
}

/**
 * Reliability diagram of decision confidence: in each of 10 equal-width bins, the share of decisions that were
 * correct (Wilson 95% interval) against the bin's mean confidence, with the bin sizes below. Only a confidence
 * that is a probability (vote share, margin) can be calibrated; for lowest-group confidence there is no diagram.
 */
export function reliabilityDiagram(ctx: FigureContext): Figure | null {
  const p = presetOf(ctx);
  const conf = decisionConfidence(ctx);
  const { confidences } = pairs(ctx, false);
  if (confidences.length === 0) return null;
  // Only a probability can be calibrated: the analysis computes calibration only then (vote share, margin), and
  // lowest-group confidence (nats) gets no diagram rather than a wrong one.
  const cal = ctx.hypothesis.calibration;
  const inRange = confidences.every((c) => c >= 0 && c <= 1);
  if (!conf.probability || !inRange || cal === null) return null;
  const height = Math.round(p.font * (p.narrow ? 19 : 22));
  const histHeight = Math.round(p.font * 6);
  const bins = reliabilityBins(cal);
  // Half of the last tick label ("100") hangs past the frame's right edge.
  const margins = { left: yAxisMargin(p), right: Math.ceil(textWidth('100', p.font) / 2 + 3) };
  const panels = [
    { svg: reliabilityPlot(ctx, bins, conf.label, height, margins), x: 0, y: 0 },
    {
      svg: binCountPlot(ctx, bins, histHeight, margins),
      x: 0,
      y: height + 2 * p.scale,
      heading: 'Decisions per bin',
    },
  ];
  const n = confidences.length;
  const ece = (100 * cal.ece).toFixed(1);
  return assembleFigure(ctx, {
    name: 'reliability',
    title: 'Reliability of decision confidence',
    subtitle: `${runLabel(ctx)} · n = ${n} labelled decisions · ECE ${ece} points (10 equal-width bins)`,
    caption: `Reliability diagram of decision confidence (n = ${n}, ECE ${ece} points).`,
    footer:
      'Dots: share of decisions that were correct in each confidence bin (Wilson 95% interval), at the bin’s mean confidence; ' +
      'on the dashed diagonal a confidence of x% is right x% of the time. ECE: expected calibration error, weighted by bin size.',
    panelHeight: height + 2 * p.scale + headingSpace(p) + histHeight,
    panels,
    legend: [{ label: `Correct (%), 95% CI · ECE ${ece} pts`, color: OKABE_ITO.blue, shape: 'interval' as const }],
  });
}
