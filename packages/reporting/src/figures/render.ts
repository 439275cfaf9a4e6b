import * as Plot from '@observablehq/plot';
import { JSDOM } from 'jsdom';
import PDFDocument from 'pdfkit';
import sharp from 'sharp';
import SVGtoPDF from 'svg-to-pdfkit';
import { FigureRenderError } from '../errors.js';
import { FONT_FILES, measureText } from './fonts.js';
import { EMULATED_BANNER, EMULATED_WATERMARK, FONT_FAMILY } from './palette.js';
import { PRESETS, inchesPerUnit, type FigurePreset } from './presets.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** One jsdom window per report: creating it is the slow part of drawing. */
export class PlotRenderer {
  readonly #document: Document;

  constructor() {
    const { window } = new JSDOM('<!DOCTYPE html><body></body>');
    // jsdom has no layout; Plot's tip marks call getBBox (Plot's own test setup stubs it the same way).
    const proto = window.SVGElement.prototype as unknown as { getBBox?: () => DOMRect };
    proto.getBBox ??= () => ({ x: 0, y: 0, width: 0, height: 0 }) as DOMRect;
    this.#document = window.document;
  }

  /** Frees the jsdom window; the renderer cannot draw afterwards. */
  close(): void {
    this.#document.defaultView?.close();
  }

  /**
   * Renders a bare Plot (no legend or caption: those are drawn by {@link composeFigure}) to an SVG string, its
   * text at the preset's font size. Plot's scoped stylesheet is dropped: it sizes a nested <svg> by CSS
   * (`height: auto; max-width: 100%`), which browsers, librsvg and the PDF converter read differently.
   */
  plot(
    name: string,
    options: Plot.PlotOptions,
    preset: FigurePreset = PRESETS.screen,
  ): { svg: string; width: number; height: number } {
    let el: Element;
    // Ticks sized with the text: Plot's 6-unit ticks are 6 pt long at print size otherwise.
    const tickSize = 6 * Math.max(0.5, preset.scale);
    const axes = Object.fromEntries(
      (['x', 'y', 'fx', 'fy'] as const).flatMap((k) => {
        const o = options[k];
        return o && typeof o === 'object' ? [[k, { tickSize, ...o }]] : [];
      }),
    );
    try {
      el = Plot.plot({
        ...options,
        ...axes,
        document: this.#document,
        style: { fontFamily: FONT_FAMILY, fontSize: `${preset.font}px`, overflow: 'visible' },
      });
    } catch (error) {
      throw new FigureRenderError(name, `Plot failed: ${(error as Error).message}`, { cause: error });
    }
    const svg = el.tagName.toLowerCase() === 'svg' ? el : el.querySelector('svg');
    if (!svg) throw new FigureRenderError(name, 'Plot returned no SVG element');
    for (const style of [...svg.querySelectorAll('style')]) style.remove();
    for (const g of [...svg.querySelectorAll('g[aria-label$="axis tick"]')])
      g.setAttribute('stroke-width', String(Math.max(0.5, preset.scale)));
    svg.removeAttribute('class');
    svg.setAttribute('overflow', 'visible');
    svg.setAttribute('font-family', FONT_FAMILY);
    svg.setAttribute('font-size', String(preset.font));
    svg.setAttributeNS(XMLNS_NS, 'xmlns', SVG_NS);
    svg.setAttributeNS(XMLNS_NS, 'xmlns:xlink', 'http://www.w3.org/1999/xlink');
    // Plot paints axes with currentColor, which the PDF converter resolves to nothing: name the colour.
    // jsdom serialises as HTML, where a no-break space is &nbsp;, an entity XML does not define.
    return {
      svg: svg.outerHTML.replaceAll('"currentColor"', '"black"').replaceAll('&nbsp;', '&#160;'),
      width: Number(svg.getAttribute('width')),
      height: Number(svg.getAttribute('height')),
    };
  }
}

export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Width of a text in user units, from DejaVu Sans' advance widths (the font every renderer here uses). */
export function textWidth(text: string, fontSize: number, bold = false): number {
  return measureText(text, fontSize, bold);
}

/**
 * Splits text into lines no wider than `width` at the given font size, breaking at ordinary spaces only (a long
 * word overflows; a no-break space, as in "n = 5", keeps its neighbours together).
 */
export function wrapText(text: string, width: number, fontSize: number, bold = false): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/[ \t\r\n]+/).filter(Boolean)) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(next, fontSize, bold) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}

export interface Panel {
  svg: string;
  x: number;
  y: number;
  /** Panel heading, drawn above the panel. */
  heading?: string;
}

export type LegendShape = 'square' | 'line' | 'dashed' | 'dot' | 'diamond' | 'interval';

export interface FigureSpec {
  title: string;
  subtitle?: string;
  width: number;
  /** Height of the panel area (title, legend and footer are added around it). */
  panelHeight: number;
  panels: Panel[];
  /** Legend entries in one row, wrapping when they do not fit; `shape` should match the mark (default square). */
  legend?: ReadonlyArray<{ label: string; color: string; shape?: LegendShape }>;
  /** Wrapped to the figure width, like the title and subtitle. */
  footer?: string;
  /** Draws the red emulated-model banner above the title (screen), or a watermark over the panels (paper). */
  emulated: boolean;
  /** Sizes and units (default: screen). Paper presets draw no title, subtitle or footer: those go to the caption. */
  preset?: FigurePreset;
}

/** Vertical space a panel heading takes above its panel. */
export const headingSpace = (preset: FigurePreset): number => Math.ceil(preset.heading * 1.6);

/** Height of the legend block composeFigure will draw for these entries at this width. */
function legendLines(
  spec: FigureSpec,
  preset: FigurePreset,
): Array<{ x: number; line: number; item: NonNullable<FigureSpec['legend']>[number] }> {
  const s = preset.scale;
  const pad = 16 * s;
  const out: Array<{ x: number; line: number; item: NonNullable<FigureSpec['legend']>[number] }> = [];
  let x = pad;
  let line = 0;
  for (const item of spec.legend ?? []) {
    const w = preset.font * 1.6 + textWidth(item.label, preset.font) + preset.font * 1.4;
    if (x > pad && x + w - preset.font * 1.4 > spec.width - pad) {
      x = pad;
      line++;
    }
    out.push({ x, line, item });
    x += w;
  }
  return out;
}

function legendSymbol(shape: LegendShape | undefined, x: number, y: number, size: number, color: string): string {
  const h = size * 0.5;
  switch (shape) {
    case 'line':
      return `<line x1="${x}" x2="${x + size * 1.3}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="${size * 0.22}"/>`;
    case 'dashed':
      return `<line x1="${x}" x2="${x + size * 1.3}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="${size * 0.14}" stroke-dasharray="${size * 0.35},${size * 0.22}"/>`;
    case 'dot':
      return `<circle cx="${x + h}" cy="${y}" r="${h * 0.85}" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${x + h},${y - h}l${h},${h}l${-h},${h}l${-h},${-h}z" fill="none" stroke="${color}" stroke-width="${size * 0.14}"/>`;
    case 'interval':
      return `<line x1="${x}" x2="${x + size * 1.3}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="${size * 0.14}"/><circle cx="${x + size * 0.65}" cy="${y}" r="${h * 0.55}" fill="${color}"/>`;
    default:
      return `<rect x="${x}" y="${y - h}" width="${size}" height="${size}" fill="${color}"/>`;
  }
}

function watermark(width: number, top: number, height: number, preset: FigurePreset): string {
  // Over the panels, translucent: an emulated figure pasted into a paper cannot lose the mark by cropping.
  const size = Math.min((0.8 * width) / textWidth(EMULATED_WATERMARK, 1, true), height / 2.5);
  const cx = width / 2;
  const cy = top + height / 2;
  const angle = -Math.atan2(height, width) * (180 / Math.PI) * 0.6;
  const attrs = `text-anchor="middle" fill="#B00020" fill-opacity="0.18" font-weight="bold" data-role="watermark" pointer-events="none"`;
  return (
    `<g transform="rotate(${angle.toFixed(1)} ${cx} ${cy})">` +
    `<text x="${cx}" y="${cy}" font-size="${size.toFixed(1)}" ${attrs}>${escapeXml(EMULATED_WATERMARK)}</text>` +
    `<text x="${cx}" y="${(cy + Math.max(preset.font, size * 0.45)).toFixed(1)}" font-size="${Math.max(preset.font, size * 0.3).toFixed(1)}" ${attrs}>not a real model's behaviour</text></g>`
  );
}

/**
 * Wraps Plot panels into one standalone SVG with a title, a legend and, for emulated runs, a banner that
 * cannot be cropped away without also losing the title (screen) or a watermark across the panels (paper).
 * A paper preset's root is sized in inches with one user unit per point, so font sizes are printed sizes.
 */
export function composeFigure(spec: FigureSpec): string {
  const preset = spec.preset ?? PRESETS.screen;
  const s = preset.scale;
  const pad = 16 * s;
  const parts: string[] = [];
  let y = 0;
  const titled = preset.title !== null;
  if (spec.emulated && titled) {
    parts.push(`<rect x="0" y="0" width="${spec.width}" height="34" fill="#B00020"/>`);
    parts.push(
      `<text x="${spec.width / 2}" y="23" text-anchor="middle" font-size="17" font-weight="bold" fill="white">${escapeXml(EMULATED_BANNER)}</text>`,
    );
    y = 34;
  }
  // Title, subtitle and footer wrap rather than run off the edge: run ids and model names make them long.
  const available = spec.width - 2 * pad;
  if (titled) {
    const ts = preset.title as number;
    for (const [i, line] of wrapText(spec.title, available, ts, true).entries()) {
      y += i === 0 ? ts * 1.6 : ts * 1.25;
      parts.push(
        `<text x="${pad}" y="${y}" font-size="${ts}" font-weight="bold" fill="#111">${escapeXml(line)}</text>`,
      );
    }
    for (const line of spec.subtitle ? wrapText(spec.subtitle, available, 14) : []) {
      y += 20;
      parts.push(`<text x="${pad}" y="${y}" font-size="14" fill="#333">${escapeXml(line)}</text>`);
    }
  } else y += preset.font * 0.4;
  if (spec.legend && spec.legend.length > 0) {
    const f = preset.font;
    const placed = legendLines(spec, preset);
    const top = y + f * 1.6;
    for (const { x, line, item } of placed) {
      const base = top + line * f * 1.55;
      parts.push(legendSymbol(item.shape, x, base - f * 0.35, f, item.color));
      parts.push(`<text x="${x + f * 1.6}" y="${base}" font-size="${f}" fill="#111">${escapeXml(item.label)}</text>`);
    }
    y = top + Math.max(0, ...placed.map((p) => p.line)) * f * 1.55;
  }
  y += titled ? 14 : preset.font * 0.8;
  const panelTop = y;
  for (const p of spec.panels) {
    const hs = headingSpace(preset);
    if (p.heading)
      parts.push(
        `<text x="${p.x + 8 * s}" y="${y + p.y + preset.heading}" font-size="${preset.heading}" font-weight="bold" fill="#222">${escapeXml(p.heading)}</text>`,
      );
    const offset = p.heading ? hs : 0;
    parts.push(asGroup(p.svg, p.x, y + p.y + offset));
  }
  y += spec.panelHeight;
  if (spec.emulated && !titled) parts.push(watermark(spec.width, panelTop, spec.panelHeight, preset));
  if (spec.footer && titled) {
    y += 4;
    for (const line of wrapText(spec.footer, available, 12.5)) {
      y += 17;
      parts.push(`<text x="${pad}" y="${y}" font-size="12.5" fill="#444">${escapeXml(line)}</text>`);
    }
  }
  y = Math.ceil(y + (titled ? 12 : preset.font * 0.6));
  const size =
    preset.unit === 'pt'
      ? `width="${fmtIn(spec.width * inchesPerUnit(preset))}in" height="${fmtIn(y * inchesPerUnit(preset))}in"`
      : `width="${spec.width}" height="${y}"`;
  return (
    `<svg xmlns="${SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" ${size} viewBox="0 0 ${spec.width} ${y}" ` +
    `font-family="${FONT_FAMILY}" data-preset="${preset.name}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`
  );
}

/**
 * A Plot's <svg> as a translated <g> with the same inherited attributes. Plot's viewBox equals its size, so the
 * coordinates are unchanged; a nested <svg> viewport is read differently by the PDF converter (it clips it away).
 */
function asGroup(svg: string, x: number, y: number): string {
  const open = /^<svg\b([^>]*)>/.exec(svg);
  if (!open || !svg.endsWith('</svg>')) throw new FigureRenderError('panel', 'a panel is not one <svg> element');
  const inherited = [
    ...(open[1] ?? '').matchAll(/\s(fill|font-family|font-size|font-variant|text-anchor)="([^"]*)"/g),
  ].map((m) => ` ${m[1]}="${m[2]}"`);
  return `<g transform="translate(${x},${y})"${inherited.join('')}>${svg.slice(open[0].length, -'</svg>'.length)}</g>`;
}

/** The root sized in user units instead of inches: how librsvg and the PDF converter must read a paper figure. */
function unitlessRoot(svg: string): string {
  const { width, height } = svgSize(svg);
  return svg.replace(/^(<svg\b[^>]*?)\swidth="[^"]*" height="[^"]*"/, `$1 width="${width}" height="${height}"`);
}

const fmtIn = (v: number): string => String(Math.round(v * 10_000) / 10_000);

/** The root SVG's size in user units (its viewBox). */
export function svgSize(svg: string): { width: number; height: number } {
  const m = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg.slice(0, 600));
  if (!m) throw new FigureRenderError('svg', 'the figure has no viewBox');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/**
 * SVG to PNG: paper presets at 300 dpi of their printed size, the screen preset at 2x its CSS pixels. The
 * density is written into the PNG so word processors and LaTeX place it at its printed size.
 */
export async function rasterize(name: string, svg: string, preset: FigurePreset = PRESETS.screen): Promise<Buffer> {
  // sharp's density is librsvg's dpi: a unitless (px) root is read at 72 per inch, an inch-sized root at the dpi.
  const density = preset.unit === 'px' ? (preset.pngDensity * 72) / 96 : preset.pngDensity;
  // librsvg reads a unitless root at 72 per inch, which is exactly the point-sized user units of a paper preset.
  try {
    return await sharp(Buffer.from(unitlessRoot(svg)), { density })
      .png()
      .withMetadata({ density: preset.pngDensity })
      .toBuffer();
  } catch (error) {
    throw new FigureRenderError(name, `rasterising failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * SVG to a one-page vector PDF at the figure's printed size, with DejaVu Sans embedded (subset) so the text
 * prints in the font it was laid out with on any machine and stays selectable.
 */
export async function svgToPdf(
  name: string,
  svg: string,
  preset: FigurePreset = PRESETS.screen,
  title = name,
): Promise<Buffer> {
  const { width, height } = svgSize(svg);
  const ptPerUnit = preset.unit === 'pt' ? 1 : 0.75;
  const w = width * ptPerUnit;
  const h = height * ptPerUnit;
  return new Promise<Buffer>((resolve, reject) => {
    try {
      // A fixed creation date keeps the file byte-identical for the same run (diffable, cacheable).
      const doc = new PDFDocument({
        size: [w, h],
        margin: 0,
        info: { Title: title, Producer: 'deepconf-safety', Creator: 'deepconf-safety', CreationDate: new Date(0) },
      });
      const chunks: Buffer[] = [];
      doc.on('data', (c: Buffer) => chunks.push(c));
      doc.on('end', () => resolve(Buffer.concat(chunks)));
      doc.on('error', reject);
      doc.registerFont('DejaVuSans', FONT_FILES.regular);
      doc.registerFont('DejaVuSans-Bold', FONT_FILES.bold);
      const warnings: string[] = [];
      SVGtoPDF(doc, unitlessRoot(svg), 0, 0, {
        width: w,
        height: h,
        assumePt: preset.unit === 'pt',
        fontCallback: (_family: string, bold: boolean) => (bold ? 'DejaVuSans-Bold' : 'DejaVuSans'),
        warningCallback: (message: string) => warnings.push(message),
      });
      doc.end();
    } catch (error) {
      reject(new FigureRenderError(name, `PDF conversion failed: ${(error as Error).message}`, { cause: error }));
    }
  });
}
