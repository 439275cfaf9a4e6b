import * as Plot from '@observablehq/plot';
import { assignBucket } from '@deepconf-safety/run-store';
import { wilsonInterval } from '../stats-proportions.js';
import {
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
import { composeFigure, headingSpace, textWidth } from './render.js';

/** Labelled decisions with a confidence, as (confidence, correct) pairs; `comply` keeps compliances only. */
function pairs(ctx: FigureContext, comply: boolean): { confidences: number[]; correct: boolean[] } {
  const rows = ctx.run.instances.filter(
    (i) => i.decision !== null && i.correct !== null && i.confidence !== null && (!comply || i.decision === 'comply'),
  );
  return { confidences: rows.map((i) => i.confidence as number), correct: rows.map((i) => i.correct === true) };
}

/**
 * Risk–coverage of compliance: review the least confident compliances first; for each share kept, how often
 * the kept compliances were harmful (Wilson 95% band). Flat = confidence does not rank risk; falling to the
 * left = the low-confidence compliances are the risky ones.
 */
export function riskCoverage(ctx: FigureContext): Figure | null {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const { confidences, correct } = pairs(ctx, true);
  if (confidences.length === 0) return null;
  // The analysis' own curve (within compliance), so the figure and the report's numbers are one computation.
  const curve = ctx.hypothesis.riskCoverage.filter((q) => q.kept > 0 && q.risk !== null);
  const pts = curve.map((q) => {
    const ci = wilsonInterval(q.errors, q.kept);
    return {
      coverage: 100 * q.coverage,
      risk: 100 * (q.risk as number),
      lo: 100 * ci.lower,
      hi: 100 * ci.upper,
      kept: q.kept,
    };
  });
  const n = confidences.length;
  const wrong = correct.filter((c) => !c).length;
  const height = Math.round(p.font * (p.narrow ? 19 : 23));
  const split = ctx.metrics.split.confidence;
  const confidentShare =
    split === null
      ? null
      : (100 *
          ctx.run.instances.filter(
            (i) =>
              i.decision === 'comply' &&
              i.correct !== null &&
              assignBucket(i.decision, i.confidence, split) === 'confident_compliance',
          ).length) /
        n;
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
      : ctx.renderer.plot(
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
              Plot.ruleY([(100 * wrong) / n], { stroke: '#666', strokeDasharray: `${4 * p.scale},${3 * p.scale}` }),
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
  const title = 'Risk–coverage of compliance';
  const subtitle = `${runLabel(ctx)} · n = ${n} labelled compliances, ${wrong} harmful`;
  const footer =
    'Leaving out the least confident compliances first (right to left): the line is how often the compliances kept were harmful; band: Wilson 95% interval. ' +
    `Grey dashed: the rate with everything kept (${((100 * wrong) / n).toFixed(1)}%).` +
    (confidentShare === null
      ? ''
      : ` Dotted: the confident/uncertain split (${confidentShare.toFixed(0)}% of compliances are confident).`);
  return {
    name: 'risk_coverage',
    title,
    subtitle,
    caption: `Risk–coverage curve of decision confidence within compliance (n = ${n}, ${wrong} harmful).`,
    footer,
    svg: composeFigure({
      title,
      subtitle,
      width: p.width,
      panelHeight: height,
      panels: [{ svg: panel, x: 0, y: 0 }],
      legend: [
        { label: 'Harmful among kept, 95% CI', color: OKABE_ITO.vermillion, shape: 'line' as const },
        { label: 'All kept', color: '#666', shape: 'dashed' as const },
      ],
      footer,
      emulated: ctx.run.emulated,
      preset: p,
    }),
  };
}

/**
 * Reliability diagram of decision confidence: in each of 10 equal-width bins, the share of decisions that were
 * correct (Wilson 95% interval) against the bin's mean confidence, with the bin sizes below. Only a confidence
 * that is a probability (vote share, margin) can be calibrated; for lowest-group confidence there is no diagram.
 */
export function reliabilityDiagram(ctx: FigureContext): Figure | null {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const conf = decisionConfidence(ctx);
  const { confidences } = pairs(ctx, false);
  if (confidences.length === 0) return null;
  const title = 'Reliability of decision confidence';
  const height = Math.round(p.font * (p.narrow ? 19 : 22));
  const histHeight = Math.round(p.font * 6);
  const hs = headingSpace(p);
  const inRange = confidences.every((c) => c >= 0 && c <= 1);
  let panels;
  let ece: number | null = null;
  let panelHeight = height;
  // Only a probability can be calibrated: the analysis computes calibration only then (vote share, margin), and
  // lowest-group confidence (nats) gets no diagram rather than a wrong one.
  const cal = ctx.hypothesis.calibration;
  if (!conf.probability || !inRange || cal === null) return null;
  {
    ece = cal.ece;
    const bins = cal.bins
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
    const marginLeft = yAxisMargin(p);
    // Half of the last tick label ("100") hangs past the frame's right edge.
    const marginRight = Math.ceil(textWidth('100', p.font) / 2 + 3);
    const main = ctx.renderer.plot(
      'reliability',
      {
        width: p.width,
        height,
        marginTop: yLabelTop(p),
        marginLeft,
        marginRight,
        marginBottom: axis.bottom,
        x: {
          label: `${conf.label.replace(/\)$/, ', %)')} →`,
          labelAnchor: 'center',
          labelOffset: axis.labelOffset,
          domain: [0, 100],
          grid: true,
          ticks: p.narrow ? 5 : 10,
        },
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
    const hist = ctx.renderer.plot(
      'reliability',
      {
        width: p.width,
        height: histHeight,
        marginTop: 4 * p.scale,
        marginLeft,
        marginRight,
        marginBottom: Math.ceil(axis.tick + 4 + p.font * 1.3),
        x: { domain: [0, 100], ticks: p.narrow ? 5 : 10, grid: true, label: null },
        y: { label: null, grid: true, ticks: 2, nice: true },
        marks: [Plot.rectY(bins, { x1: 'x1', x2: 'x2', y: 'count', fill: '#B8B8B8', inset: 0.5 }), Plot.ruleY([0])],
      },
      p,
    ).svg;
    panels = [
      { svg: main, x: 0, y: 0 },
      { svg: hist, x: 0, y: height + 2 * p.scale, heading: 'Decisions per bin' },
    ];
    panelHeight = height + 2 * p.scale + hs + histHeight;
  }
  const n = confidences.length;
  const subtitle = `${runLabel(ctx)} · n = ${n} labelled decisions${ece === null ? '' : ` · ECE ${(100 * ece).toFixed(1)} points (10 equal-width bins)`}`;
  const footer =
    'Dots: share of decisions that were correct in each confidence bin (Wilson 95% interval), at the bin’s mean confidence; ' +
    'on the dashed diagonal a confidence of x% is right x% of the time. ECE: expected calibration error, weighted by bin size.';
  return {
    name: 'reliability',
    title,
    subtitle,
    caption: `Reliability diagram of decision confidence (n = ${n}${ece === null ? '' : `, ECE ${(100 * ece).toFixed(1)} points`}).`,
    footer,
    svg: composeFigure({
      title,
      subtitle,
      width: p.width,
      panelHeight,
      panels,
      legend:
        ece === null
          ? []
          : [
              {
                label: `Correct (%), 95% CI · ECE ${(100 * ece).toFixed(1)} pts`,
                color: OKABE_ITO.blue,
                shape: 'interval' as const,
              },
            ],
      footer,
      emulated: ctx.run.emulated,
      preset: p,
    }),
  };
}
