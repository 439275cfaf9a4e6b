import * as Plot from '@observablehq/plot';
import { endSentence, formatP } from '../format.js';
import { wilsonInterval } from '../stats-proportions.js';
import {
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
import { composeFigure, headingSpace } from './render.js';

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

/**
 * The hypothesis: how often uncertain versus confident compliance was harmful (an incorrect compliance is a
 * harmful prompt answered), each with its Wilson interval, and their difference with Newcombe's interval and the
 * p of the primary test the analysis declared (Fisher's exact by default). An untestable benchmark says why.
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one Plot specification (marks, scales, labels) read top to bottom; splitting it scatters the layout
export function hypothesisValidation(ctx: FigureContext): Figure {
  const p = presetOf(ctx);
  const h = ctx.hypothesis;
  const axis = axisSpace(p);
  const groups: GroupRate[] = [
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
  const [u, c] = groups as [GroupRate, GroupRate];
  const untestable = h.untestable;
  const comparable = u.n > 0 && c.n > 0;
  // The analysis compares accuracy (uncertain − confident); harmful-compliance rates are its complement, so the
  // difference flips sign and its interval flips ends. The p-value is the declared primary test's.
  const comparison = h.comparison;
  const primary = h.tests.find((t) => t.role === 'primary') ?? null;
  const test =
    comparable && comparison !== null && Number.isFinite(comparison.difference)
      ? {
          difference: -comparison.difference,
          lower: -comparison.interval.upper,
          upper: -comparison.interval.lower,
          level: comparison.interval.level,
        }
      : null;
  const height = Math.round(p.font * (p.narrow ? 17 : 21));
  const leftWidth = p.narrow ? p.width : Math.round(p.width * 0.52);
  const rightWidth = p.narrow ? p.width : p.width - leftWidth - 10 * p.scale;
  const nameLines = Math.max(...groups.map((g) => g.name.split('\n').length));
  const left =
    comparable || u.n + c.n > 0
      ? ctx.renderer.plot(
          'hypothesis_validation',
          {
            width: leftWidth,
            height,
            marginTop: yLabelTop(p),
            marginLeft: yAxisMargin(p),
            marginRight: 8 * p.scale,
            marginBottom: Math.ceil(axis.tick + 4 + p.font * 1.25 * nameLines),
            x: { domain: groups.map((g) => g.name), label: null, tickSize: 0, padding: 0.3 },
            y: { domain: [0, 100], label: '↑ Harmful compliance (% of compliances)', grid: true, ticks: 5 },
            marks: [
              Plot.ruleX(
                groups.filter((g) => g.n > 0),
                { x: 'name', y1: 'lower', y2: 'upper', stroke: 'color', strokeWidth: 2 * p.scale },
              ),
              // Caps wider than the marker, so the interval stays visible even where it ends at the estimate.
              Plot.tickY(
                groups.filter((g) => g.n > 0),
                { x: 'name', y: 'lower', stroke: 'color', strokeWidth: 2 * p.scale, inset: leftWidth * 0.16 },
              ),
              Plot.tickY(
                groups.filter((g) => g.n > 0),
                { x: 'name', y: 'upper', stroke: 'color', strokeWidth: 2 * p.scale, inset: leftWidth * 0.16 },
              ),
              Plot.dot(
                groups.filter((g) => g.n > 0),
                { x: 'name', y: 'rate', fill: 'white', stroke: 'color', strokeWidth: 2 * p.scale, r: 3.5 * p.scale },
              ),
            ],
          },
          p,
        ).svg
      : noteSvg(ctx, 'No labelled compliance in this run: nothing to compare.', leftWidth, height);
  let right: string;
  let rightHeading: string;
  let verdict: string;
  if (untestable !== null || test === null) {
    verdict =
      untestable ?? `Not computable: ${u.n === 0 ? 'no uncertain' : 'no confident'} compliance among labelled prompts.`;
    right = noteSvg(ctx, verdict, rightWidth, p.narrow ? Math.round(height * 0.6) : height);
    rightHeading = 'Difference';
  } else {
    const d = { est: 100 * test.difference, lo: 100 * test.lower, hi: 100 * test.upper };
    const extent = Math.max(10, Math.abs(d.lo), Math.abs(d.hi), Math.abs(d.est)) * 1.1;
    const sig = primary?.significant ?? null;
    const words = sig === null ? 'not computable' : sig ? 'significant ✱' : 'not significant';
    const testName = h.primary === 'compliance-accuracy' ? "Fisher's exact" : (primary?.name ?? h.primary);
    const pText = primary === null ? 'p not computable' : formatP(primary.pValue);
    verdict = `${testName} test (primary): ${pText}, ${words} at α = ${h.alpha}`;
    const lines = [`${testName} (primary):`, `${pText}, ${words}`];
    const rh = p.narrow ? Math.round(height * 0.62) : height;
    right = ctx.renderer.plot(
      'hypothesis_validation',
      {
        width: rightWidth,
        height: rh,
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
            inset: rh * 0.12,
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
    rightHeading = `Difference: ${signed(d.est)} pts, ${Math.round(100 * test.level)}% CI [${signed(d.lo)}, ${signed(d.hi)}]`;
  }
  const hs = headingSpace(p);
  const panels = p.narrow
    ? [
        { svg: left, x: 0, y: 0, heading: `Harmful compliance, Wilson ${Math.round(100 * h.intervals.level)}% CI` },
        { svg: right, x: 0, y: height + hs + 4 * p.scale, heading: rightHeading },
      ]
    : [
        { svg: left, x: 0, y: 0, heading: `Harmful compliance, Wilson ${Math.round(100 * h.intervals.level)}% CI` },
        { svg: right, x: leftWidth + 10 * p.scale, y: 0, heading: rightHeading },
      ];
  const rightHeight = p.narrow
    ? test === null || untestable !== null
      ? Math.round(height * 0.6)
      : Math.round(height * 0.62)
    : 0;
  const panelHeight = p.narrow ? height + hs + 4 * p.scale + rightHeight + hs : height + hs;
  const title = 'Is low-confidence compliance riskier?';
  const subtitle = `${runLabel(ctx)} · ${verdict}`;
  const footer =
    `Harmful compliance: a compliance with a prompt labelled harmful, as a share of the group's compliances. ` +
    `Uncertain: decision confidence below the split (${h.splitConfidence === null ? 'n/a' : h.splitConfidence.toFixed(2)}). ` +
    `Positive difference = uncertain compliance is more often harmful. Difference interval: Newcombe (hybrid score); ✱ = significant at α = ${h.alpha}.`;
  return {
    name: 'hypothesis_validation',
    title,
    subtitle,
    caption: `Harmful-compliance rate of uncertain versus confident compliance (Wilson intervals) and their difference (Newcombe interval). ${endSentence(verdict)}`,
    footer,
    svg: composeFigure({
      title,
      subtitle,
      width: p.width,
      panelHeight,
      panels,
      footer,
      emulated: ctx.run.emulated,
      preset: p,
    }),
  };
}
