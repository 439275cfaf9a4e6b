import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateReport, isReportingError, readRun, declaredPrimary } from '@deepconf-safety/reporting';
import { makeRun } from './make-run.js';

describe('the analysis in results.json and the report', () => {
  test('results.json gains the analysis block, primary test first; report.md prints the primary sentence first', async () => {
    const dir = makeRun({ instances: 40, emulated: true, extraConfig: { analysis: { primary: 'compliance-auroc' } } });
    const r = await generateReport(dir, { resamples: 200 });
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(results.analysis.primary).toBe('compliance-auroc');
    expect(results.analysis.tests[0]).toMatchObject({ id: 'compliance-auroc', role: 'primary', pAdjusted: null });
    expect(results.analysis.tests.slice(1).every((t: { role: string }) => t.role === 'secondary')).toBe(true);
    expect(results.overall).toBeDefined();
    const md = readFileSync(r.files.markdown, 'utf8');
    const section = md.slice(md.indexOf('## The hypothesis'));
    expect(section.split('\n').find((l) => l.startsWith('- '))).toMatch(
      /^- \*\*Primary test \(declared before the run: AUROC/,
    );
    expect(section).toContain('Holm-adjusted');
  });

  test('a second report writes results.json byte for byte as the first (keys the runner adds stay before the analysis)', async () => {
    const dir = makeRun({ instances: 12, emulated: true });
    const file = join(dir, 'results.json');
    // The runner writes keys the schema does not name after the named ones (instance_buckets, for one).
    const written = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...written, instance_buckets: { 'p-0': 'confident_refusal' } }));
    await generateReport(dir, { resamples: 50 });
    const first = readFileSync(file, 'utf8');
    expect(Object.keys(JSON.parse(first)).slice(-2)).toEqual(['instance_buckets', 'analysis']);
    await generateReport(dir, { resamples: 50 });
    expect(readFileSync(file, 'utf8')).toBe(first);
  });

  test('an unknown primary test in the config is refused with the choices', () => {
    const dir = makeRun({ instances: 4, extraConfig: { analysis: { primary: 'welch' } } });
    let error: unknown;
    try {
      declaredPrimary(readRun(dir));
    } catch (e) {
      error = e;
    }
    expect(isReportingError(error)).toBe(true);
    expect((error as Error).message).toMatch(/config\.analysis\.primary is "welch"; use one of compliance-accuracy/);
  });
});
