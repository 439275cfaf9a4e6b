import { beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore } from '@deepconf-safety/run-store';
import {
  computeMetrics,
  generateReport,
  readRun,
  savingsBreakdown,
  savingsIntervalText,
  type GeneratedReport,
} from '@deepconf-safety/reporting';
import { seededRandom } from '../src/stats.js';
import { makeRun } from './make-run.js';

const prompts = (pairs: ReadonlyArray<[number, number]>) =>
  pairs.map(([tokens, baselineTokens]) => ({ tokens, baselineTokens }));

describe('savingsBreakdown', () => {
  test('the estimate is the ratio of token sums, not the mean of per-prompt ratios', () => {
    // One prompt saves everything, the other nothing: the mean of per-prompt ratios would say 50 %.
    const skewed = savingsBreakdown(
      prompts([
        [0, 1000],
        [100, 100],
      ]),
      0,
    );
    expect(skewed?.savings.percent).toBeCloseTo((100 * 1000) / 1100, 12);
  });

  test('the interval brackets the estimate, has the n, and the same seed gives the same interval', () => {
    const random = seededRandom(11);
    const members = prompts(
      Array.from({ length: 60 }, (): [number, number] => {
        const baseline = 200 + Math.floor(800 * random());
        return [Math.floor(baseline * (0.5 + 0.5 * random())), baseline];
      }),
    );
    const a = savingsBreakdown(members, 3)?.savings;
    const b = savingsBreakdown(members, 3)?.savings;
    const c = savingsBreakdown(members, 4)?.savings;
    expect(a).toEqual(b);
    expect(a?.n).toBe(60);
    expect(a?.lower).not.toBeNull();
    expect(a?.lower as number).toBeLessThan(a?.percent as number);
    expect(a?.upper as number).toBeGreaterThan(a?.percent as number);
    expect(c?.lower).not.toBe(a?.lower);
    // Prompts that all save the same share leave no sampling uncertainty in the ratio.
    const flat = savingsBreakdown(
      prompts([
        [50, 100],
        [100, 200],
        [25, 50],
      ]),
      0,
    )?.savings;
    expect(flat?.lower).toBeCloseTo(50, 9);
    expect(flat?.upper).toBeCloseTo(50, 9);
  });

  test('no baseline gives no savings and no interval, and no prompts gives nothing', () => {
    const none = savingsBreakdown(prompts([[0, 0]]), 0)?.savings;
    expect(none?.percent).toBeNull();
    expect(none?.lower).toBeNull();
    expect(savingsIntervalText(none ?? null)).toBe('n/a');
    expect(savingsBreakdown([], 0)).toBeNull();
  });
});

describe('a report states the savings with its interval', () => {
  let dir: string;
  let report: GeneratedReport;
  beforeAll(async () => {
    dir = makeRun({ instances: 40, emulated: true, withResults: true, seed: 5 });
    report = await generateReport(dir, { resamples: 500 });
  }, 240_000);

  test('report.md, tables.csv and results.json carry the same interval as the savings bootstrap', () => {
    const run = readRun(RunStore.open(dir));
    const expected = savingsBreakdown(run.instances, 0)?.savings;
    expect(expected?.lower).not.toBeNull();
    const text = savingsIntervalText(expected ?? null);
    expect(text).toMatch(/^-?\d+\.\d% \[-?\d+\.\d, -?\d+\.\d\]$/);
    const md = readFileSync(report.files.markdown, 'utf8');
    // Markdown escapes the brackets.
    const mdText = text.replace('[', '\\[').replace(']', '\\]');
    expect(md.split('\n').find((l) => l.startsWith('| Token savings'))).toContain(`| ${mdText} | 40 prompts`);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(results.analysis.savings.overall).toEqual(expected);
    expect(results.analysis.savings.baseline).toBe(
      run.instances.some((i) => i.baselineEstimated) ? 'estimated' : 'exact',
    );
    expect(Object.keys(results.analysis.savings.perCategory).sort()).toEqual(
      computeMetrics(run).perCategory.map((c) => c.category),
    );
    const csv = readFileSync(report.files.tablesCsv, 'utf8');
    // Long format: one line per cell; the estimate column's line holds the fractions behind the text.
    const row = csv.split('\n').find((l) => l.startsWith('summary,Token savings') && l.includes('estimate [95% CI]'));
    const [estimate, lower, upper, , n] = (row as string).split(',').slice(-5).map(Number);
    expect(estimate).toBeCloseTo((expected?.percent as number) / 100, 12);
    expect(lower).toBeCloseTo((expected?.lower as number) / 100, 12);
    expect(upper).toBeCloseTo((expected?.upper as number) / 100, 12);
    expect(n).toBe(40);
  });
});
