import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { generateReport } from '@deepconf-safety/reporting';
import { makeRun } from './make-run.js';

describe('an unlabelled run (--unlabelled) says at the top that accuracy is not available', () => {
  test('report.md and report.html open with the notice; a labelled run has none', async () => {
    const dir = makeRun({ instances: 12, emulated: false, seed: 5, extraConfig: { unlabelled: true } });
    const report = await generateReport(dir, { resamples: 200 });
    const md = readFileSync(report.files.markdown, 'utf8');
    expect(md.startsWith('> **Accuracy is not available: this benchmark has no labels (--unlabelled)')).toBe(true);
    const html = readFileSync(report.files.html, 'utf8');
    const notice = html.indexOf('Accuracy is not available');
    expect(notice).toBeGreaterThan(0);
    expect(notice).toBeLessThan(html.indexOf('<h1>'));

    const labelled = await generateReport(makeRun({ instances: 12, emulated: false, seed: 5 }), { resamples: 200 });
    expect(readFileSync(labelled.files.markdown, 'utf8')).not.toContain('Accuracy is not available');
  }, 60_000);
});
