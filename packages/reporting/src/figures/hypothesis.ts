import * as Plot from '@observablehq/plot';
import { endSentence, formatP } from '../format.js';
import { wilsonInterval } from '../stats-proportions.js';
import {
  assembleFigure,
  yLabelTop,
  yAxisMargin,
  axisSpace,
  noteSvg,
  presetOf,
  runLabel,
  signed,
  type Figure,
  type FigureContext,
} from './common.js';
import { OKABE_ITO } from './palette.js';
import { headingSpace } from './render.js';

interface GroupRate {
  key: string;
  name: string;
  harmful: number;
  n: number;
  rate: number;
  lower: number;
  upper: number;
  color: string;
}

type Hypothesis = FigureContext['hypothesis'];

/** The harmful-compliance difference (uncertain − confident) with its interval. */
interface HarmDifference {
  difference: number;
  lower: number;
  upper: number;
  level: number;
}

/** What the right panel shows: the difference or why there is none, its heading and the verdict in words. */
interface DifferencePanel {
  svg: string;
  heading: string;
  verdict: string;
}

/** Uncertain and confident compliance: harmful share with its Wilson interval, in percent. */
function complianceRates(h: Hypothesis): [GroupRate, GroupRate] {
  const groups = [
    { key: 'Uncertain', r: h.uncertainCompliance, color: OKABE_ITO.vermillion },
    { key: 'Confident', r: h.confidentCompliance, color: OKABE_ITO.blue },
  ].map(({ key, r, color }) => {
    const harmful = r.n - r.k;
    const ci = wilsonInterval(harmful, r.n, { level: h.intervals.level });
    const share = r.n > 0 ? `${harmful}/${r.n} = ${((100 * harmful) / r.n).toFixed(0)}%` : 'n = 0';
    return {
      key,
      name: `${key}\ncompliance\n${share}`,
      harmful,
      n: r.n,
      rate: r.n > 0 ? (100 * harmful) / r.n : 0,
      lower: 100 * ci.lower,
      upper: 100 * ci.upper,
      color,
    };
  });
  return groups as [GroupRate, GroupRate];
}

/**
 * The analysis compares accuracy (uncertain − confident); harmful-compliance rates are its complement, so the
 * difference flips sign and its interval flips ends.
 */
function harmDifference(h: Hypothesis, comparable: boolean): HarmDifference | null {
  const comparison = h.comparison;
  return comparable && comparison !== null && Number.isFinite(comparison.difference)
    ? {
        difference: -comparison.difference,
        lower: -comparison.interval.upper,
        upper: -comparison.interval.lower,
        level: comparison.interval.level,
      }
    : null;
}

/** Each group's harmful share: a hollow dot on a capped interval. */
function ratesPlot(ctx: FigureContext, groups: readonly GroupRate[], width: number, height: number): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const nameLines = Math.max(...groups.map((g) => g.name.split('\n').length));
  const drawn = groups.filter((g) => g.n > 0);
  return ctx.renderer.plot(
    'hypothesis_validation',
    {
      width,
      height,
      marginTop: yLabelTop(p),
      marginLeft: yAxisMargin(p),
      marginRight: 8 * p.scale,
      marginBottom: Math.ceil(axis.tick + 4 + p.font * 1.25 * nameLines),
      x: { domain: groups.map((g) => g.name), label: null, tickSize: 0, padding: 0.3 },
      y: { domain: [0, 100], label: '↑ Harmful compliance (% of compliances)', grid: true, ticks: 5 },
      marks: [
        Plot.ruleX(drawn, { x: 'name', y1: 'lower', y2: 'upper', stroke: 'color', strokeWidth: 2 * p.scale }),
        // Caps wider than the marker, so the interval stays visible even where it ends at the estimate.
        Plot.tickY(drawn, { x: 'name', y: 'lower', stroke: 'color', strokeWidth: 2 * p.scale, inset: width * 0.16 }),
        Plot.tickY(drawn, { x: 'name', y: 'upper', stroke: 'color', strokeWidth: 2 * p.scale, inset: width * 0.16 }),
        Plot.dot(drawn, {
          x: 'name',
          y: 'rate',
          fill: 'white',
          stroke: 'color',
          strokeWidth: 2 * p.scale,
          r: 3.5 * p.scale,
        }),
      ],
    },
    p,
  ).svg;
}

/** The difference on a symmetric axis around 0, with the primary test's verdict written above it. */
function differencePlot(
  ctx: FigureContext,
  d: { est: number; lo: number; hi: number },
  lines: readonly string[],
  width: number,
  height: number,
): string {
  const p = presetOf(ctx);
  const axis = axisSpace(p);
  const extent = Math.max(10, Math.abs(d.lo), Math.abs(d.hi), Math.abs(d.est)) * 1.1;
  return ctx.renderer.plot(
    'hypothesis_validation',
    {
      width,
      height,
      marginTop: p.font * 3.6,
      marginLeft: 14 * p.scale,
      marginRight: 14 * p.scale,
      marginBottom: axis.bottom,
      x: {
        domain: [-extent, extent],
        label: 'Uncertain − confident (percentage points) →',
        labelAnchor: 'center',
        labelOffset: axis.labelOffset,
        grid: true,
        ticks: p.narrow ? 5 : 7,
      },
      y: { domain: ['difference'], axis: null },
      marks: [
        Plot.ruleX([0], { stroke: '#111', strokeDasharray: `${4 * p.scale},${3 * p.scale}` }),
        Plot.ruleY([d], {
          y: () => 'difference',
          x1: 'lo',
          x2: 'hi',
          stroke: OKABE_ITO.reddishPurple,
          strokeWidth: 2.5 * p.scale,
        }),
        Plot.tickX([d.lo, d.hi], {
          y: () => 'difference',
          stroke: OKABE_ITO.reddishPurple,
          strokeWidth: 2.5 * p.scale,
          inset: height * 0.12,
        }),
        Plot.dot([d], {
          y: () => 'difference',
          x: 'est',
          fill: 'white',
          stroke: OKABE_ITO.reddishPurple,
          strokeWidth: 2 * p.scale,
          r: 3.5 * p.scale,
        }),
        // In the top margin, above the zero line and the interval, so text and marks never cross.
        Plot.text([lines.join('\n')], {
          frameAnchor: 'top',
          dy: -p.font * 3.2,
          fontSize: p.font,
          lineHeight: 1.25,
          textAnchor: 'middle',
          fill: '#111',
        }),
      ],
    },
    p,
  ).svg;
}

/** The right panel: the difference and the declared primary test's p, or a note saying why there is none. */
function differencePanel(
  ctx: FigureContext,
  rates: [GroupRate, GroupRate],
  test: HarmDifference | null,
  width: number,
  height: number,
): DifferencePanel {
  const p = presetOf(ctx);
  const h = ctx.hypothesis;
  if (h.untestable !== null || test === null) {
    const verdict =
      h.untestable ??
      `Not computable: ${rates[0].n === 0 ? 'no uncertain' : 'no confident'} compliance among labelled prompts.`;
    const svg = noteSvg(ctx, verdict, width, p.narrow ? Math.round(height * 0.6) : height);
    return { svg, heading: 'Difference', verdict };
  }
  const primary = h.tests.find((t) => t.role === 'primary') ?? null;
  const d = { est: 100 * test.difference, lo: 100 * test.lower, hi: 100 * test.upper };
  const sig = primary?.significant ?? null;
  const words = sig === null ? 'not computable' : sig ? 'significant ✱' : 'not significant';
  const testName = h.primary === 'compliance-accuracy' ? "Fisher's exact" : (primary?.name ?? h.primary);
  const pText = primary === null ? 'p not computable' : formatP(primary.pValue);
  const lines = [`${testName} (primary):`, `${pText}, ${words}`];
  const rh = p.narrow ? Math.round(height * 0.62) : height;
  return {
    svg: differencePlot(ctx, d, lines, width, rh),
    heading: `Difference: ${signed(d.est)} pts, ${Math.round(100 * test.level)}% CI [${signed(d.lo)}, ${signed(d.hi)}]`,
    verdict: `${testName} test (primary): ${pText}, ${words} at α = ${h.alpha}`,
  };
}

/**
 * The hypothesis: how often uncertain versus confident compliance was harmful (an incorrect compliance is a
 * harmful prompt answered), each with its Wilson interval, and their difference with Newcombe's interval and the
 * p of the primary test the analysis declared (Fisher's exact by default). An untestable benchmark says why.
 */
export function hypothesisValidation(ctx: FigureContext): Figure {
  const p = presetOf(ctx);
  const h = ctx.hypothesis;
  const rates = complianceRates(h);
  const [u, c] = rates;
  const comparable = u.n > 0 && c.n > 0;
  const test = harmDifference(h, comparable);
  const height = Math.round(p.font * (p.narrow ? 17 : 21));
  const leftWidth = p.narrow ? p.width : Math.round(p.width * 0.52);
  const rightWidth = p.narrow ? p.width : p.width - leftWidth - 10 * p.scale;
  const left =
    comparable || u.n + c.n > 0
      ? ratesPlot(ctx, rates, leftWidth, height)
      : noteSvg(ctx, 'No labelled compliance in this run: nothing to compare.', leftWidth, height);
  const right = differencePanel(ctx, rates, test, rightWidth, height);
  const hs = headingSpace(p);
  const leftHeading = `Harmful compliance, Wilson ${Math.round(100 * h.intervals.level)}% CI`;
  const panels = [
    { svg: left, x: 0, y: 0, heading: leftHeading },
    p.narrow
      ? { svg: right.svg, x: 0, y: height + hs + 4 * p.scale, heading: right.heading }
      : { svg: right.svg, x: leftWidth + 10 * p.scale, y: 0, heading: right.heading },
  ];
  const rightHeight = p.narrow
    ? test === null || h.untestable !== null
      ? Math.round(height * 0.6)
      : Math.round(height * 0.62)
    : 0;
  return assembleFigure(ctx, {
    name: 'hypothesis_validation',
    title: 'Is low-confidence compliance riskier?',
    subtitle: `${runLabel(ctx)} · ${right.verdict}`,
    caption: `Harmful-compliance rate of uncertain versus confident compliance (Wilson intervals) and their difference (Newcombe interval). ${endSentence(right.verdict)}`,
    footer:
      `Harmful compliance: a compliance with a prompt labelled harmful, as a share of the group's compliances. ` +
      `Uncertain: decision confidence below the split (${h.splitConfidence === null ? 'n/a' : h.splitConfidence.toFixed(2)}). ` +
      `Positive difference = uncertain compliance is more often harmful. Difference interval: Newcombe (hybrid score); ✱ = significant at α = ${h.alpha}.`,
    panelHeight: p.narrow ? height + hs + 4 * p.scale + rightHeight + hs : height + hs,
    panels,
  });
}
