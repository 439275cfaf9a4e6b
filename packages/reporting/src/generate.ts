import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, writeJsonAtomic, type RunStore } from '@deepconf-safety/run-store';
import { allFigures } from './figures/figures.js';
import { PlotRenderer, rasterize } from './figures/render.js';
import { judgeAgreements } from './judge-agreement.js';
import { analysisJson, analyzeRun } from './analysis.js';
import type { HypothesisResult } from './hypothesis.js';
import { computeMetrics, type RunMetrics } from './metrics.js';
import { uncertainComplianceFailures } from './report-data.js';
import { renderHtmlReport } from './report-html.js';
import { renderMarkdownReport } from './report-md.js';
import { readRun } from './run-data.js';
import { thresholdSweep, type ThresholdSweep } from './threshold-sweep.js';
import { RunInputError } from './errors.js';

export interface GenerateReportOptions {
  /** Seed of every bootstrap interval (default 0): the same run gives the same report. */
  seed?: number;
  /** Bootstrap resamples of the figures' intervals (default 10,000; the hypothesis verdict never uses a bootstrap). */
  resamples?: number;
  /** Significance level for the wording (default 0.05). */
  alpha?: number;
}

export interface GeneratedReport {
  /** Paths of everything written. */
  files: { figures: Array<{ name: string; svg: string; png: string }>; html: string; markdown: string };
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
  sweep: ThresholdSweep | null;
}

/**
 * Turns a run directory into `figures/*.svg|png`, `report.html` and `report.md` inside it. Reads only
 * the run store, so it works on finished, interrupted and copied runs alike.
 */
export async function generateReport(runDir: string | RunStore, options: GenerateReportOptions = {}): Promise<GeneratedReport> {
  const run = readRun(runDir);
  if (run.instances.length === 0) {
    throw new RunInputError(run.dir, 'instances.jsonl holds no finished prompt yet; wait for the run to complete some prompts, or resume it with --resume');
  }
  const seed = options.seed ?? 0;
  const metrics = computeMetrics(run);
  const hypothesis = analyzeRun(run, metrics, { seed, ...(options.alpha === undefined ? {} : { alpha: options.alpha }) });
  // results.json carries the analysis too, so a reader of the numbers sees the primary test and the adjusted p.
  if (run.results !== null) writeJsonAtomic(join(run.dir, FILES.results), { ...run.results, analysis: analysisJson(hypothesis) });
  const sweep = thresholdSweep(run);
  const figures = allFigures({ run, metrics, hypothesis, sweep, renderer: new PlotRenderer(), seed });
  const figureDir = join(run.dir, 'figures');
  mkdirSync(figureDir, { recursive: true });
  const written: GeneratedReport['files']['figures'] = [];
  const pngs = await Promise.all(figures.map((f) => rasterize(f.name, f.svg)));
  figures.forEach((f, i) => {
    const svg = join(figureDir, `${f.name}.svg`);
    const png = join(figureDir, `${f.name}.png`);
    writeFileSync(svg, f.svg);
    writeFileSync(png, pngs[i]!);
    written.push({ name: f.name, svg, png });
  });
  const failures = uncertainComplianceFailures(run, metrics.split.confidence);
  const html = join(run.dir, 'report.html');
  const markdown = join(run.dir, 'report.md');
  const input = { run, metrics, hypothesis, sweep, failures, judge: judgeAgreements(run, { seed }) };
  writeFileSync(html, renderHtmlReport({ ...input, figures: figures.map((f, i) => ({ ...f, png: pngs[i]! })) }));
  writeFileSync(markdown, renderMarkdownReport({ ...input, figures }));
  return { files: { figures: written, html, markdown }, metrics, hypothesis, sweep };
}
