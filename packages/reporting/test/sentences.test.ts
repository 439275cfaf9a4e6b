import { beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';
import {
  PRESETS,
  PRESET_NAMES,
  PlotRenderer,
  analyzeRun,
  computeMetrics,
  generateReport,
  readRun,
  thresholdSweep,
  type GeneratedReport,
} from '@deepconf-safety/reporting';
import { allFigures } from '../src/figures/figures.js';
import { makeAllHarmfulRun, makeRun } from './make-run.js';

/**
 * What a proof-reader flags in generated prose: doubled punctuation ("riskier?."), a space before punctuation,
 * unbalanced brackets, empty brackets, doubled spaces, and values that leaked as code words.
 */
export function sentenceProblems(text: string): string[] {
  const problems: string[] = [];
  const t = text.replace(/\s+$/, '');
  const doubled = /[.?!,;:…]\s*[.?!,;:]/.exec(t.replace(/\.\.\./g, '…'));
  if (doubled) problems.push(`doubled punctuation "${doubled[0]}"`);
  const spaced = / [,.;:!?](?=\s|$)/.exec(t);
  if (spaced) problems.push(`space before punctuation "${spaced[0]}"`);
  for (const [open, close] of [
    ['(', ')'],
    ['[', ']'],
    ['{', '}'],
  ] as const) {
    let depth = 0;
    for (const c of t) {
      if (c === open) depth++;
      if (c === close) depth--;
      if (depth < 0) break;
    }
    if (depth !== 0) problems.push(`unbalanced ${open}${close}`);
  }
  if (/\(\s*\)|\[\s*\]/.test(t)) problems.push('empty brackets');
  if (/\S {2,}\S/.test(t)) problems.push('doubled space');
  if (/\b(undefined|NaN|null)\b|\[object Object\]/.test(t)) problems.push('a code value in prose');
  return problems;
}

const check = (where: string, texts: readonly string[]): Array<{ where: string; text: string; problems: string[] }> =>
  texts.flatMap((text) => {
    const problems = sentenceProblems(text);
    return problems.length === 0 ? [] : [{ where, text, problems }];
  });

/** Markdown prose lines (not tables), with the Markdown syntax taken off. */
const markdownProse = (md: string): string[] =>
  md
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('|') && !l.startsWith('!['))
    .map((l) =>
      l
        .replace(/^(#+|>|-)\s*/, '')
        .replace(/\*\*|\*|`/g, '')
        .replace(/\\([\\`*_[\]|~<>&])/g, '$1'),
    );

describe('the proof-reading rules', () => {
  test('catch the typos they are for and pass clean prose', () => {
    expect(sentenceProblems('Is low-confidence compliance riskier?.')).toEqual(['doubled punctuation "?."']);
    expect(sentenceProblems('A gap of 3 points , not significant.')).toEqual(['space before punctuation " ,"']);
    expect(sentenceProblems('Wilson interval [0.1, 0.4.')).toEqual(['unbalanced []']);
    expect(sentenceProblems('odds ratio NaN (n = 3)')).toEqual(['a code value in prose']);
    expect(sentenceProblems('Fisher’s exact test: not significant (p = 0.094, n = 66); odds ratio 4.00.')).toEqual([]);
    expect(sentenceProblems('Is it riskier? Yes… mostly.')).toEqual([]);
  });
});

describe('every generated sentence', () => {
  let reports: Record<string, GeneratedReport>;
  beforeAll(async () => {
    const dirs = {
      typical: makeRun({ instances: 40 }),
      tiny: makeRun({ instances: 8, seed: 9, emulated: false }),
      harmful: makeAllHarmfulRun({ instances: 24, seed: 4 }),
    };
    reports = Object.fromEntries(
      await Promise.all(
        Object.entries(dirs).map(async ([k, d]) => [k, await generateReport(d, { resamples: 300 })] as const),
      ),
    );
  }, 240_000);

  test('in report.md, report.html, captions.md and the hypothesis statements reads clean', () => {
    const found = Object.entries(reports).flatMap(([name, r]) => {
      const doc = new JSDOM(readFileSync(r.files.html, 'utf8')).window.document;
      for (const el of [...doc.querySelectorAll('#errors, td.text, details')]) el.remove();
      const html = [...doc.querySelectorAll('h1, h2, h3, p, li, caption, figcaption, th, summary')]
        .map((e) => (e.textContent ?? '').trim())
        .filter(Boolean);
      const md = readFileSync(r.files.markdown, 'utf8');
      const prose = markdownProse(md.slice(0, md.indexOf('## Error analysis')));
      return [
        ...check(
          `${name} statements`,
          r.hypothesis.statements.map((s) => s.text),
        ),
        ...check(`${name} report.html`, html),
        ...check(`${name} report.md`, prose),
        ...check(`${name} captions.md`, markdownProse(readFileSync(r.files.captions, 'utf8'))),
      ];
    });
    expect(found).toEqual([]);
  });

  test('in every figure of every preset (titles, subtitles, captions, notes) reads clean', () => {
    const renderer = new PlotRenderer();
    const found = Object.entries(reports).flatMap(([name, r]) => {
      const run = readRun(r.files.html.replace(/\/report\.html$/, ''));
      const metrics = computeMetrics(run);
      const hypothesis = analyzeRun(run, metrics, { permutations: 200 });
      return PRESET_NAMES.flatMap((p) =>
        allFigures({
          run,
          metrics,
          hypothesis,
          sweep: thresholdSweep(run),
          renderer,
          seed: 0,
          preset: PRESETS[p],
        }).flatMap((f) => check(`${name} ${p} ${f.name}`, [f.title, f.subtitle, f.caption, f.footer])),
      );
    });
    renderer.close();
    expect(found).toEqual([]);
  }, 120_000);

  test('a benchmark where the hypothesis cannot be tested says so in one sentence, not "0/n vs 0/m, not significant"', () => {
    const h = reports['harmful']!.hypothesis;
    expect(h.untestable).toMatch(/cannot be tested/);
    const md = readFileSync(reports['harmful']!.files.markdown, 'utf8');
    expect(md).toContain(h.untestable!.replace(/([\\`*_[\]|~<>&])/g, '\\$1'));
    const svg = readFileSync(
      reports['harmful']!.files.figures.find((f) => f.name === 'hypothesis_validation')!.svg,
      'utf8',
    );
    expect(svg).toContain('cannot be tested');
    expect(svg).not.toMatch(/not significant/);
  });
});
