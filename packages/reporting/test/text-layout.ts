import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where Debian's chromium package puts the browser (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);

export interface TextBox {
  text: string;
  /** Font size in the figure's user units (points for paper presets). */
  fontSize: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Measured {
  width: number;
  height: number;
  boxes: TextBox[];
}

/** A headless Chromium that lays out SVG text with the same DejaVu Sans the PNGs and PDFs use. */
export class TextMeasurer {
  private constructor(
    private readonly context: BrowserContext,
    private readonly page: Page,
    private readonly profile: string,
  ) {}

  static async launch(): Promise<TextMeasurer> {
    const profile = mkdtempSync(join(tmpdir(), 'figure-layout-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    return new TextMeasurer(context, await context.newPage(), profile);
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
  }

  /**
   * Every text element's box in the figure's user units, as Chromium lays it out (watermarks excluded: they
   * are meant to lie across the figure).
   */
  async measure(svg: string): Promise<Measured> {
    await this.page.setContent(`<!DOCTYPE html><html><body style="margin:0">${svg}</body></html>`);
    return this.page.evaluate(() => {
      const root = document.querySelector('svg') as SVGSVGElement;
      const vb = root.viewBox.baseVal;
      const rect = root.getBoundingClientRect();
      const k = vb.width / rect.width;
      const boxes = [...root.querySelectorAll('text')]
        .filter((t) => t.getAttribute('data-role') !== 'watermark' && (t.textContent ?? '').trim() !== '')
        .map((t) => {
          const r = t.getBoundingClientRect();
          // Computed font-size is in the text's own user space; figures translate but never scale.
          return {
            text: t.textContent ?? '',
            fontSize: Number.parseFloat(getComputedStyle(t).fontSize),
            x0: (r.left - rect.left) * k,
            y0: (r.top - rect.top) * k,
            x1: (r.right - rect.left) * k,
            y1: (r.bottom - rect.top) * k,
          };
        });
      return { width: vb.width, height: vb.height, boxes };
    });
  }
}

/** Text boxes that leave the frame, and pairs that overlap by more than `tolerance` user units either way. */
export function layoutProblems(
  m: Measured,
  tolerance = 0.5,
): { outside: TextBox[]; overlapping: Array<[string, string]> } {
  const outside = m.boxes.filter(
    (b) => b.x0 < -tolerance || b.y0 < -tolerance || b.x1 > m.width + tolerance || b.y1 > m.height + tolerance,
  );
  const overlapping: Array<[string, string]> = [];
  for (let i = 0; i < m.boxes.length; i++) {
    for (let j = i + 1; j < m.boxes.length; j++) {
      const a = m.boxes[i]!;
      const b = m.boxes[j]!;
      if (
        Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > tolerance &&
        Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > tolerance
      )
        overlapping.push([a.text, b.text]);
    }
  }
  return { outside, overlapping };
}
