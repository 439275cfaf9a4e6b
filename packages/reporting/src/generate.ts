import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, writeJsonAtomic, type RunStore } from '@deepconf-safety/run-store';
import { captionsMarkdown } from './figures/captions.js';
import { allFigures, type Figure, type FigureContext } from './figures/figures.js';
import { PRESETS, type FigurePreset, type PresetName } from './figures/presets.js';
import { PlotRenderer, rasterize, svgToPdf } from './figures/render.js';
import { analysisJson, analyzeRun } from './analysis.js';
import type { HypothesisResult } from './hypothesis.js';
import { judgeAgreements } from './judge-agreement.js';
import { computeMetrics, type RunMetrics } from './metrics.js';
import { readJudgments } from '@deepconf-safety/run-store';
import { errorAnalysisRows } from './report-data.js';
import { renderCsvTables, renderFailuresCsv, renderLatexTables, reportTables } from './report-tables.js';
import { renderHtmlReport } from './report-html.js';
import { renderMarkdownReport } from './report-md.js';
import { readRun } from './run-data.js';
import { savingsJson } from './savings-interval.js';
import { thresholdSweep, type ThresholdSweep } from './threshold-sweep.js';
import { RunInputError } from './errors.js';

export interface GenerateReportOptions {
  /** Seed of every bootstrap interval (default 0): the same run gives the same report. */
  seed?: number;
  /** Bootstrap resamples of the report's bootstrap intervals (default 10,000; the hypothesis verdict never uses a bootstrap). */
  resamples?: number;
  /** Significance level for the wording (default 0.05). */
  alpha?: number;
  /** Size of the figure files (default screen); report.html always embeds the screen rendering. */
  preset?: PresetName;
}

export interface GeneratedFigureFiles {
  name: string;
  svg: string;
  png: string;
  pdf: string;
}

export interface GeneratedReport {
  /** Paths of everything written. */
  files: {
    figures: GeneratedFigureFiles[];
    captions: string;
    html: string;
    markdown: string;
    tablesTex: string;
    tablesCsv: string;
    failuresCsv: string;
  };
  preset: PresetName;
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
  sweep: ThresholdSweep | null;
}

/** Writes each figure as SVG, PNG and PDF into `dir`; returns the paths and the PNGs. */
async function writeFigures(
  dir: string,
  figures: readonly Figure[],
  preset: FigurePreset,
): Promise<{ files: GeneratedFigureFiles[]; pngs: Buffer[] }> {
  mkdirSync(dir, { recursive: true });
  const pngs = await Promise.all(figures.map((f) => rasterize(f.name, f.svg, preset)));
  const pdfs = await Promise.all(figures.map((f) => svgToPdf(f.name, f.svg, preset, f.title)));
  const files = figures.map((f, i) => {
    const out = {
      name: f.name,
      svg: join(dir, `${f.name}.svg`),
      png: join(dir, `${f.name}.png`),
      pdf: join(dir, `${f.name}.pdf`),
    };
    writeFileSync(out.svg, f.svg);
    writeFileSync(out.png, pngs[i]!);
    writeFileSync(out.pdf, pdfs[i]!);
    return out;
  });
  return { files, pngs };
}

/**
 * Turns a run directory into `figures/*.svg|png|pdf` and `figures/captions.md`, `report.html`, `report.md`,
 * `tables.tex`, `tables.csv` and `failures.csv` inside it. Reads only the run store, so it works on finished, interrupted and copied runs alike.
 */
export async function generateReport(
  runDir: string | RunStore,
  options: GenerateReportOptions = {},
): Promise<GeneratedReport> {
  const judgments = readJudgments(typeof runDir === 'string' ? runDir : runDir.dir);
  // Only the answers the report shows are kept: the rest of a long run's text is most of what it would hold.
  const run = readRun(runDir, { texts: 'shown', judgments });
  if (run.instances.length === 0) {
    throw new RunInputError(
      run.dir,
      'instances.jsonl holds no finished prompt yet; wait for the run to complete some prompts, or resume it with --resume',
    );
  }
  const seed = options.seed ?? 0;
  const preset = PRESETS[options.preset ?? 'screen'];
  const metrics = computeMetrics(run, { seed });
  const hypothesis = analyzeRun(run, metrics, {
    seed,
    ...(options.alpha === undefined ? {} : { alpha: options.alpha }),
  });
  // results.json carries the analysis too, so a reader of the numbers sees the primary test and the adjusted p.
  if (run.results !== null)
    writeJsonAtomic(join(run.dir, FILES.results), {
      ...run.results,
      analysis: { ...analysisJson(hypothesis), savings: savingsJson(metrics) },
    });
  const sweep = thresholdSweep(run);
  const renderer = new PlotRenderer();
  const ctx: FigureContext = { run, metrics, hypothesis, sweep, renderer, seed, preset };
  const figures = allFigures(ctx);
  const figureDir = join(run.dir, 'figures');
  const { files, pngs } = await writeFigures(figureDir, figures, preset);
  // The HTML report is read on a screen: it embeds the screen rendering whatever preset the files use.
  const screen = preset.name === 'screen' ? figures : allFigures({ ...ctx, preset: PRESETS.screen });
  const screenPngs =
    preset.name === 'screen' ? pngs : await Promise.all(screen.map((f) => rasterize(f.name, f.svg, PRESETS.screen)));
  renderer.close();
  const captions = join(figureDir, 'captions.md');
  writeFileSync(
    captions,
    captionsMarkdown(figures, { emulated: run.emulated, preset: preset.name, runId: run.manifest.runId }),
  );
  const failures = errorAnalysisRows(run, metrics.split.confidence, judgments);
  const html = join(run.dir, 'report.html');
  const markdown = join(run.dir, 'report.md');
  const input = { run, metrics, hypothesis, sweep, failures, judge: judgeAgreements(run, { seed, judgments }) };
  const tables = reportTables(input);
  const tablesTex = join(run.dir, 'tables.tex');
  const tablesCsv = join(run.dir, 'tables.csv');
  const failuresCsv = join(run.dir, 'failures.csv');
  writeFileSync(tablesTex, renderLatexTables(tables, { runId: run.manifest.runId, emulated: run.emulated }));
  writeFileSync(tablesCsv, renderCsvTables(tables));
  writeFileSync(failuresCsv, renderFailuresCsv(failures));
  writeFileSync(html, renderHtmlReport({ ...input, figures: screen.map((f, i) => ({ ...f, png: screenPngs[i]! })) }));
  writeFileSync(markdown, renderMarkdownReport({ ...input, figures }));
  return {
    files: { figures: files, captions, html, markdown, tablesTex, tablesCsv, failuresCsv },
    preset: preset.name,
    metrics,
    hypothesis,
    sweep,
  };
}
