import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
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
