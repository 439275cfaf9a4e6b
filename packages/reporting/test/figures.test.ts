import { beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { JSDOM } from 'jsdom';
import * as Plot from '@observablehq/plot';
import sharp from 'sharp';
import {
  PlotRenderer,
  composeFigure,
  generateReport,
  int,
  rasterize,
  textWidth,
  wrapText,
  type GeneratedReport,
} from '@deepconf-safety/reporting';
import { makeRun } from './make-run.js';

const LONG_CATEGORY = 'contrast_figurative_language_of_a_rather_long_name';

/** Rewrites every JSON line of a run file (the test's way of shaping a run the generator does not offer). */
function editJsonl(file: string, edit: (r: Record<string, unknown>, i: number) => Record<string, unknown>): void {
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  writeFileSync(
    file,
    `${rows.map((l, i) => JSON.stringify(edit(JSON.parse(l) as Record<string, unknown>, i))).join('\n')}\n`,
  );
}

const svgOf = (r: GeneratedReport, name: string): string =>
  readFileSync(r.files.figures.find((f) => f.name === name)?.svg ?? 'missing', 'utf8');
/** Every text of a figure, one space between text elements (wrapped lines read as one sentence). */
const textOf = (svg: string): string =>
  [...new JSDOM(svg, { contentType: 'image/svg+xml' }).window.document.querySelectorAll('text')]
    .map((t) => t.textContent)
    .join(' ');

/** Every text drawn by composeFigure (direct children of the outer SVG) with its x, font size and content. */
function composedTexts(svg: string): { width: number; texts: Array<{ x: number; size: number; text: string }> } {
  const doc = new JSDOM(svg, { contentType: 'image/svg+xml' }).window.document;
  const root = doc.documentElement;
  const texts = [...root.children]
    .filter((el) => el.tagName === 'text')
    .map((el) => ({
      x: Number(el.getAttribute('x')),
      size: Number(el.getAttribute('font-size')),
      text: el.textContent ?? '',
    }));
  return { width: Number(root.getAttribute('width')), texts };
}

let shaped: GeneratedReport;
let tiny: GeneratedReport;

beforeAll(async () => {
  // A run with a long category name, fractional (estimated) baselines and no incorrect compliance at all.
  const dir = makeRun({ instances: 32, emulated: true, seed: 5 });
  editJsonl(join(dir, 'instances.jsonl'), (r, i) => ({
    ...r,
    category: i % 4 === 0 ? LONG_CATEGORY : r['category'],
    baselineTokens: (r['baselineTokens'] as number) + 0.4567,
    ...(r['decision'] === 'comply' ? { shouldRefuse: false, correct: true } : {}),
  }));
  const tinyDir = makeRun({ instances: 8, emulated: false, seed: 9 });
  [shaped, tiny] = await Promise.all([
    generateReport(dir, { resamples: 500 }),
    generateReport(tinyDir, { resamples: 500 }),
  ]);
}, 240_000);

describe('figure text layout', () => {
  test('wrapText keeps every word, in order, and no line wider than asked unless a single word is', () => {
    const word = fc.stringMatching(/^[a-z_0-9·=()%,.]{1,30}$/);
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 60, max: 900 }),
        fc.constantFrom(12, 14, 19),
        (words, width, size) => {
          const lines = wrapText(words.join(' '), width, size);
          expect(lines.join(' ').split(' ')).toEqual(words);
          for (const line of lines) if (line.includes(' ')) expect(textWidth(line, size)).toBeLessThanOrEqual(width);
        },
      ),
    );
  });

  test('composeFigure wraps a long subtitle and footer inside the width and grows to hold them', () => {
    const short = composeFigure({
      title: 'T',
      subtitle: 'short',
      width: 400,
      panelHeight: 100,
      panels: [],
      footer: 'f',
      emulated: false,
    });
    const subtitle = Array.from({ length: 30 }, (_, i) => `run-${i} · model`).join(' ');
    const long = composeFigure({
      title: 'T',
      subtitle,
      width: 400,
      panelHeight: 100,
      panels: [],
      footer: subtitle,
      emulated: false,
    });
    const { width, texts } = composedTexts(long);
    expect(texts.filter((t) => t.text.startsWith('run-')).length).toBeGreaterThan(4);
    for (const t of texts) expect(t.x + textWidth(t.text, t.size)).toBeLessThanOrEqual(width);
    const height = (svg: string) => Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)?.[1]);
    expect(height(long)).toBeGreaterThan(height(short) + 100);
  });

  test('the exported helpers render a Plot, compose it and rasterise it, escaping hostile text', async () => {
    const renderer = new PlotRenderer();
    const { svg } = renderer.plot('demo', {
      width: 300,
      height: 200,
      marks: [Plot.dot([{ x: 1, y: 2 }], { x: 'x', y: 'y' })],
    });
    renderer.close();
    const composed = composeFigure({
      title: '<b>Demo</b> & co',
      width: 320,
      panelHeight: 200,
      panels: [{ svg, x: 10, y: 0 }],
      emulated: true,
    });
    expect(composed).toContain('&lt;b&gt;Demo&lt;/b&gt; &amp; co');
    expect(composed).not.toContain('<b>');
    const meta = await sharp(await rasterize('demo', composed)).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 640 });
  });

  test('token counts are shown as whole numbers', () => {
    expect(int(47346.924)).toBe('47,347');
    expect(int(0.4)).toBe('0');
    const md = readFileSync(shaped.files.markdown, 'utf8');
    expect(md).not.toMatch(/\d,\d{3}\.\d/);
    expect(textOf(svgOf(shaped, 'token_savings'))).not.toMatch(/\d,\d{3}\.\d/);
    expect(textOf(svgOf(shaped, 'token_savings'))).toMatch(/\d,\d{3} of \d+,\d{3} baseline tokens/);
  });
});

describe('figures of awkward runs', () => {
  test('no composed title, subtitle, legend or footer runs off the right edge', () => {
    for (const f of [...shaped.files.figures, ...tiny.files.figures]) {
      const { width, texts } = composedTexts(readFileSync(f.svg, 'utf8'));
      for (const t of texts)
        expect({
          figure: f.name,
          text: t.text,
          right: Math.round(t.x + textWidth(t.text, t.size)) <= width,
        }).toMatchObject({ right: true });
    }
  });

  test('token savings names categories readably, wrapping a long name instead of cutting it', () => {
    const doc = new JSDOM(svgOf(shaped, 'token_savings'), { contentType: 'image/svg+xml' }).window.document;
    const axis = doc.querySelector('g[aria-label="fy-axis tick label"]');
    const labels = [...(axis?.querySelectorAll('text') ?? [])].map(
      (l) => [...l.querySelectorAll('tspan')].map((t) => t.textContent).join(' ') || l.textContent,
    );
    expect(labels[0]).toMatch(/^All prompts \(n\u00a0=\u00a032\)$/);
    expect(labels).toContainEqual(expect.stringMatching(/^Figurative language of a rather long name \(unsafe\)/));
    expect(labels.join(' ')).not.toContain('_');
    expect(svgOf(shaped, 'token_savings')).not.toContain(LONG_CATEGORY);
  });

  test('an empty outcome keeps its row and says it is empty; an undefined odds ratio is not printed as infinity', () => {
    const buckets = svgOf(shaped, 'confidence_4bucket');
    expect(buckets).toMatch(/Incorrect compliance<\/tspan><tspan [^>]*>\(n = 0\)/);
    expect(buckets).toContain('no prompts with this outcome');
    expect(shaped.metrics.accuracy.value).not.toBeNull();
    // Every compliance is correct: Fisher's odds ratio is undefined and must not print as infinity.
    expect(svgOf(shaped, 'hypothesis_validation')).not.toContain('∞');
  });

  test('a tiny run draws every figure and flags its small groups', () => {
    expect(tiny.files.figures.length).toBeGreaterThanOrEqual(3);
    expect(textOf(svgOf(tiny, 'token_savings'))).toContain('Pale bars: fewer than 3 prompts');
    expect(tiny.hypothesis.gap).not.toBeNull();
    // Small groups get Wilson intervals, which stay honest at any n (no bootstrap collapsing to a point).
    expect(svgOf(tiny, 'hypothesis_validation')).toContain('Harmful compliance, Wilson 95% CI');
  });
});
