import * as Plot from '@observablehq/plot';
import { JSDOM } from 'jsdom';
import sharp from 'sharp';
import { FigureRenderError } from '../errors.js';
import { EMULATED_BANNER, FONT_FAMILY } from './palette.js';

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

  /** Renders a bare Plot (no legend or caption: those are drawn by {@link composeFigure}) to an SVG string. */
  plot(name: string, options: Plot.PlotOptions): { svg: string; width: number; height: number } {
    let el: Element;
    try {
      el = Plot.plot({ ...options, document: this.#document, style: { fontFamily: FONT_FAMILY, fontSize: '13px', background: 'white', overflow: 'visible' } });
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
  legend?: ReadonlyArray<{ label: string; color: string; shape?: 'square' | 'line' }>;
  footer?: string;
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
  y += 30;
  parts.push(`<text x="16" y="${y}" font-size="19" font-weight="bold" fill="#111">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) {
    y += 22;
    parts.push(`<text x="16" y="${y}" font-size="14" fill="#333">${escapeXml(spec.subtitle)}</text>`);
  }
  if (spec.legend && spec.legend.length > 0) {
    y += 26;
    let x = 16;
    for (const item of spec.legend) {
      if (item.shape === 'line') parts.push(`<line x1="${x}" x2="${x + 18}" y1="${y - 5}" y2="${y - 5}" stroke="${item.color}" stroke-width="3"/>`);
      else parts.push(`<rect x="${x}" y="${y - 12}" width="14" height="14" fill="${item.color}"/>`);
      parts.push(`<text x="${x + 22}" y="${y}" font-size="13" fill="#111">${escapeXml(item.label)}</text>`);
      x += 22 + item.label.length * 7.6 + 22;
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
    y += 20;
    parts.push(`<text x="16" y="${y}" font-size="12" fill="#444">${escapeXml(spec.footer)}</text>`);
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
