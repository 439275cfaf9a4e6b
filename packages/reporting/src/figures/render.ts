import * as Plot from '@observablehq/plot';
import { JSDOM } from 'jsdom';
import sharp from 'sharp';
import { FigureRenderError } from '../errors.js';
import { EMULATED_BANNER, FONT_FAMILY, FONT_SIZE } from './palette.js';

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

  /** Renders a bare Plot (no legend or caption: those are drawn by {@link composeFigure}) to an SVG string. */
  plot(name: string, options: Plot.PlotOptions): { svg: string; width: number; height: number } {
    let el: Element;
    try {
      el = Plot.plot({ ...options, document: this.#document, style: { fontFamily: FONT_FAMILY, fontSize: `${FONT_SIZE}px`, background: 'white', overflow: 'visible' } });
    } catch (error) {
      throw new FigureRenderError(name, `Plot failed: ${(error as Error).message}`, { cause: error });
    }
    const svg = el.tagName.toLowerCase() === 'svg' ? el : el.querySelector('svg');
    if (!svg) throw new FigureRenderError(name, 'Plot returned no SVG element');
    svg.setAttributeNS(XMLNS_NS, 'xmlns', SVG_NS);
    svg.setAttributeNS(XMLNS_NS, 'xmlns:xlink', 'http://www.w3.org/1999/xlink');
    return { svg: svg.outerHTML, width: Number(svg.getAttribute('width')), height: Number(svg.getAttribute('height')) };
  }
}

export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * Rough width of a text in pixels. sharp's SVG renderer (librsvg) and browsers lay text out themselves and
 * jsdom cannot measure, so layout uses DejaVu Sans' average advance (about 0.6 em), erring wide.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const c of text) em += /[ilI.,:;|!'’()[\]1 ]/.test(c) ? 0.34 : /[A-Z%mwMW—]/.test(c) ? 0.78 : 0.6;
  return em * fontSize;
}

/** Splits text into lines no wider than `width` at the given font size, breaking at spaces (a long word overflows). */
export function wrapText(text: string, width: number, fontSize: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(next, fontSize) > width) {
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

export interface FigureSpec {
  title: string;
  subtitle?: string;
  width: number;
  /** Height of the panel area (title, legend and footer are added around it). */
  panelHeight: number;
  panels: Panel[];
  /** Legend entries in one row, wrapping when they do not fit; `shape` should match the mark (default square). */
  legend?: ReadonlyArray<{ label: string; color: string; shape?: 'square' | 'line' | 'dot' | 'diamond' }>;
  /** Wrapped to the figure width, like the title and subtitle. */
  footer?: string;
  /** Draws the red emulated-model banner above the title. */
  emulated: boolean;
}

/**
 * Wraps Plot panels into one standalone SVG with a title, a legend and, for emulated runs, a banner
 * that cannot be cropped away without also losing the title.
 */
export function composeFigure(spec: FigureSpec): string {
  const parts: string[] = [];
  let y = 0;
  if (spec.emulated) {
    parts.push(`<rect x="0" y="0" width="${spec.width}" height="34" fill="#B00020"/>`);
    parts.push(`<text x="${spec.width / 2}" y="23" text-anchor="middle" font-size="17" font-weight="bold" fill="white">${escapeXml(EMULATED_BANNER)}</text>`);
    y = 34;
  }
  // Title, subtitle and footer wrap rather than run off the edge: run ids and model names make them long.
  const textWidthAvailable = spec.width - 32;
  for (const [i, line] of wrapText(spec.title, textWidthAvailable, 19).entries()) {
    y += i === 0 ? 30 : 24;
    parts.push(`<text x="16" y="${y}" font-size="19" font-weight="bold" fill="#111">${escapeXml(line)}</text>`);
  }
  if (spec.subtitle) {
    for (const line of wrapText(spec.subtitle, textWidthAvailable, 14)) {
      y += 20;
      parts.push(`<text x="16" y="${y}" font-size="14" fill="#333">${escapeXml(line)}</text>`);
    }
  }
  if (spec.legend && spec.legend.length > 0) {
    y += 28;
    let x = 16;
    for (const item of spec.legend) {
      const w = 22 + textWidth(item.label, 13) + 22;
      if (x > 16 && x + w > spec.width - 16) {
        x = 16;
        y += 22;
      }
      if (item.shape === 'line') parts.push(`<line x1="${x}" x2="${x + 18}" y1="${y - 5}" y2="${y - 5}" stroke="${item.color}" stroke-width="3"/>`);
      else if (item.shape === 'dot') parts.push(`<circle cx="${x + 8}" cy="${y - 5}" r="6" fill="${item.color}"/>`);
      else if (item.shape === 'diamond') parts.push(`<path d="M${x + 8},${y - 13}l7,8l-7,8l-7,-8z" fill="${item.color}"/>`);
      else parts.push(`<rect x="${x}" y="${y - 12}" width="14" height="14" fill="${item.color}"/>`);
      parts.push(`<text x="${x + 22}" y="${y}" font-size="13" fill="#111">${escapeXml(item.label)}</text>`);
      x += w;
    }
  }
  y += 14;
  for (const p of spec.panels) {
    if (p.heading) parts.push(`<text x="${p.x + 8}" y="${y + p.y + 14}" font-size="14" font-weight="bold" fill="#222">${escapeXml(p.heading)}</text>`);
    const offset = p.heading ? 22 : 0;
    // Nested <svg> keeps each Plot's own scoped <style> and coordinate system.
    parts.push(p.svg.replace(/^<svg /, `<svg x="${p.x}" y="${y + p.y + offset}" `));
  }
  y += spec.panelHeight;
  if (spec.footer) {
    y += 4;
    for (const line of wrapText(spec.footer, textWidthAvailable, 12.5)) {
      y += 17;
      parts.push(`<text x="16" y="${y}" font-size="12.5" fill="#444">${escapeXml(line)}</text>`);
    }
  }
  y += 12;
  return (
    `<svg xmlns="${SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" width="${spec.width}" height="${y}" viewBox="0 0 ${spec.width} ${y}" ` +
    `font-family="${FONT_FAMILY}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`
  );
}

/** SVG to PNG at twice the CSS pixel size (density 144 dpi), sharp enough for print at column width. */
export async function rasterize(name: string, svg: string): Promise<Buffer> {
  try {
    return await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  } catch (error) {
    throw new FigureRenderError(name, `rasterising failed: ${(error as Error).message}`, { cause: error });
  }
}
