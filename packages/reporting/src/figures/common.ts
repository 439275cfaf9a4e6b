import * as Plot from '@observablehq/plot';
import type { InstanceRecord } from '@deepconf-safety/run-store';
import type { HypothesisResult } from '../hypothesis.js';
import type { RunMetrics } from '../metrics.js';
import type { RunData } from '../run-data.js';
import type { ThresholdSweep } from '../threshold-sweep.js';
import type { Outcome } from './palette.js';
import { PRESETS, type FigurePreset } from './presets.js';
import { composeFigure, textWidth, wrapText, type FigureSpec, type PlotRenderer } from './render.js';

export interface FigureContext {
  run: RunData;
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
  sweep: ThresholdSweep | null;
  renderer: PlotRenderer;
  /** Seed for the bootstrap intervals drawn in figures. */
  seed: number;
  /** Sizes (default screen). */
  preset?: FigurePreset;
}

/** A drawn figure: its file stem, the standalone SVG, and the words that go beside it. */
export interface Figure {
  name: string;
  title: string;
  /** Run, model and benchmark: drawn on screen figures, in captions.md for paper ones. */
  subtitle: string;
  /** One sentence for alt text and captions. */
  caption: string;
  /** How to read it (drawn under screen figures, appended to the caption for paper ones). */
  footer: string;
  svg: string;
}

/** What a figure builder decides: its words, its panels and its legend; {@link assembleFigure} does the rest. */
export interface FigureParts {
  name: string;
  title: string;
  subtitle: string;
  caption: string;
  footer: string;
  panels: FigureSpec['panels'];
  panelHeight: number;
  legend?: FigureSpec['legend'];
}

/** A run figure: the parts composed at the context's preset width, with the emulated banner when it applies. */
export function assembleFigure(ctx: FigureContext, parts: FigureParts): Figure {
  const p = presetOf(ctx);
  const { name, title, subtitle, caption, footer, panels, panelHeight, legend } = parts;
  return {
    name,
    title,
    subtitle,
    caption,
    footer,
    svg: composeFigure({
      title,
      subtitle,
      width: p.width,
      panelHeight,
      panels,
      ...(legend === undefined ? {} : { legend }),
      footer,
      emulated: ctx.run.emulated,
      preset: p,
    }),
  };
}

/** Groups with fewer prompts than this are drawn pale: their rates are mostly noise. */
export const SMALL_N = 3;
/** Bootstrap resamples for the intervals drawn in figures (the report's tables use the configured number). */
export const FIGURE_RESAMPLES = 2000;

export const presetOf = (ctx: FigureContext): FigurePreset => ctx.preset ?? PRESETS.screen;

/** One decimal with a typographic minus, as printed figures use. */
export const signed = (v: number, digits = 1): string =>
  (Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v).toFixed(digits).replace(/^-/, '−');

export function runLabel(ctx: FigureContext): string {
  const { metrics } = ctx;
  return [metrics.model ?? 'unknown model', metrics.benchmark ?? 'unknown benchmark', `run ${metrics.runId}`].join(
    ' · ',
  );
}

export function outcomeOf(i: InstanceRecord): Outcome | null {
  if (i.decision === null || i.correct === null) return null;
  return `${i.correct ? 'correct' : 'incorrect'}_${i.decision === 'refuse' ? 'refusal' : 'compliance'}` as Outcome;
}

/** What the run's decision confidence is, for axis labels (the manifest records the definition). */
export function decisionConfidence(ctx: FigureContext): { label: string; probability: boolean } {
  const kind = ctx.hypothesis.decisionConfidence;
  if (kind === 'vote-share') return { label: 'Decision confidence (weighted vote share)', probability: true };
  if (kind === 'margin') return { label: 'Decision confidence (vote margin)', probability: true };
  return { label: 'Decision confidence (lowest-group, nats)', probability: false };
}

/** A panel holding one sentence instead of a chart (nothing to draw). */
export function noteSvg(ctx: FigureContext, text: string, width: number, height: number): string {
  const p = presetOf(ctx);
  const lines = wrapText(text, width * 0.86, p.font).join('\n');
  return ctx.renderer.plot(
    'note',
    {
      width,
      height,
      axis: null,
      marks: [
        Plot.frame({ stroke: '#bbb' }),
        Plot.text([lines], { frameAnchor: 'middle', fontSize: p.font, lineHeight: 1.3 }),
      ],
    },
    p,
  ).svg;
}

const KNOWN_CATEGORIES: Record<string, string> = {
  // XSTest (Röttger et al. 2024): safe prompt types and their unsafe contrasts.
  homonyms: 'Homonyms',
  figurative_language: 'Figurative language',
  safe_targets: 'Safe targets',
  safe_contexts: 'Safe contexts',
  definitions: 'Definitions',
  discr: 'Discrimination',
  real_group_nons_discr: 'Nonsense discrimination, real group',
  nons_group_real_discr: 'Real discrimination, nonsense group',
  historical_events: 'Historical events',
  privacy_public: 'Privacy (public figures)',
  privacy_fictional: 'Privacy (fictional)',
};

/**
 * A category id as a reader says it: known benchmark ids by name, XSTest's unsafe `contrast_x` as "x (unsafe)", anything else with spaces for underscores and a capital first letter.
 */
export function readableCategory(id: string): string {
  const contrast = /^contrast_(.+)$/.exec(id);
  if (contrast) return `${readableCategory(contrast[1]!)} (unsafe)`;
  const known = KNOWN_CATEGORIES[id];
  if (known) return known;
  const spaced = id.replace(/[_-]+/g, ' ').trim();
  return spaced === '' ? id : spaced[0]!.toUpperCase() + spaced.slice(1);
}

/** Top margin that holds a y-axis label drawn above the axis ("↑ …") clear of the topmost tick label. */
export const yLabelTop = (p: FigurePreset): number => Math.ceil(3 + p.font * 2.1);

/** Left margin for a numeric y axis whose widest tick label is `widest`: label, tick, Plot's 3-unit padding, a gap. */
export const yAxisMargin = (p: FigurePreset, widest = '100'): number =>
  Math.ceil(textWidth(widest, p.font) + 6 * Math.max(0.5, p.scale) + 3 + p.font * 0.5);

/** Space for facet (fy) labels: the widest line, the 9 units Plot's facet axis keeps from the frame, and a gap. */
export const labelMargin = (labels: readonly string[], fontSize: number): number =>
  Math.ceil(
    Math.max(0, ...labels.flatMap((l) => l.split('\n').map((line) => textWidth(line, fontSize)))) + 9 + fontSize * 0.4,
  );

/** Axis margins that fit tick labels and an axis label below (bottom) or beside (left). */
export function axisSpace(p: FigurePreset): { bottom: number; labelOffset: number; tick: number } {
  const tick = 6 * Math.max(0.5, p.scale);
  return { bottom: Math.ceil(tick + 3 + p.font * 2.9), labelOffset: Math.ceil(tick + 3 + p.font * 2.3), tick };
}

/** Percentages as the figures print them. */
export const pct1 = (v: number): string => `${(100 * v).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;

/** Box of a text label in user units, for placing labels that must not overlap. */
export interface LabelBox {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export const overlaps = (a: LabelBox, b: LabelBox): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Places one label per point at the first candidate offset (right, above, below, left) whose box stays in the
 * frame and clear of every placed label and point; a label with no free spot is dropped and listed, so the
 * caller can say which points went unlabelled instead of overprinting them.
 */
export function placeLabels<T>(
  points: ReadonlyArray<{ x: number; y: number; text: string; datum: T; r?: number }>,
  frame: LabelBox,
  fontSize: number,
  gap: number,
): {
  placed: Array<{ datum: T; text: string; x: number; y: number; anchor: 'start' | 'middle' | 'end' }>;
  dropped: T[];
} {
  const h = fontSize * 1.2;
  const radius = (p: { r?: number }): number => p.r ?? gap * 0.6;
  const taken: LabelBox[] = points.map((p) => ({
    x0: p.x - radius(p),
    x1: p.x + radius(p),
    y0: p.y - radius(p),
    y1: p.y + radius(p),
  }));
  const placed: Array<{ datum: T; text: string; x: number; y: number; anchor: 'start' | 'middle' | 'end' }> = [];
  const dropped: T[] = [];
  for (const p of points) {
    const w = textWidth(p.text, fontSize);
    const g = Math.max(gap, radius(p) + fontSize * 0.3);
    const candidates: Array<{ x: number; y: number; anchor: 'start' | 'middle' | 'end'; box: LabelBox }> = [
      { x: p.x + g, y: p.y, anchor: 'start', box: { x0: p.x + g, x1: p.x + g + w, y0: p.y - h / 2, y1: p.y + h / 2 } },
      {
        x: p.x,
        y: p.y - g - h / 2,
        anchor: 'middle',
        box: { x0: p.x - w / 2, x1: p.x + w / 2, y0: p.y - g - h, y1: p.y - g },
      },
      {
        x: p.x,
        y: p.y + g + h / 2,
        anchor: 'middle',
        box: { x0: p.x - w / 2, x1: p.x + w / 2, y0: p.y + g, y1: p.y + g + h },
      },
      { x: p.x - g, y: p.y, anchor: 'end', box: { x0: p.x - g - w, x1: p.x - g, y0: p.y - h / 2, y1: p.y + h / 2 } },
    ];
    const inFrame = (b: LabelBox): boolean =>
      b.x0 >= frame.x0 && b.x1 <= frame.x1 && b.y0 >= frame.y0 && b.y1 <= frame.y1;
    const free = candidates.find((c) => inFrame(c.box) && !taken.some((t) => overlaps(t, c.box)));
    if (!free) {
      dropped.push(p.datum);
      continue;
    }
    taken.push(free.box);
    placed.push({ datum: p.datum, text: p.text, x: free.x, y: free.y, anchor: free.anchor });
  }
  return { placed, dropped };
}
