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

/** The file paths of each figure; nothing is written. */
function figurePaths(dir: string, figures: readonly Figure[]): GeneratedFigureFiles[] {
  return figures.map((f) => ({
    name: f.name,
    svg: join(dir, `${f.name}.svg`),
    png: join(dir, `${f.name}.png`),
    pdf: join(dir, `${f.name}.pdf`),
  }));
}

/**
 * One figure at a time: converting a 10,000-dot figure to PDF holds ~200 MiB of the converter's objects, and
 * seven conversions at once added their peaks.
 */
async function rasterizeEach(figures: readonly Figure[], preset: FigurePreset): Promise<Buffer[]> {
  const pngs: Buffer[] = [];
  for (const f of figures) pngs.push(await rasterize(f.name, f.svg, preset));
  return pngs;
}

/** The figures as drawn, with what the PDF step needs once the run itself is no longer held. */
interface DrawnFigures {
  dir: string;
  figures: Figure[];
  preset: FigurePreset;
  files: GeneratedFigureFiles[];
}

/**
 * Everything that needs the run's records: metrics, analysis, threshold replay, figures (SVG and PNG), tables and
 * the HTML and Markdown reports. The PDFs come after, once the records can be collected (see `generateReport`).
 */
async function reportFromRecords(
  runDir: string | RunStore,
  options: GenerateReportOptions,
): Promise<Omit<GeneratedReport, 'files'> & { drawn: DrawnFigures; files: Omit<GeneratedReport['files'], 'figures'> }> {
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
  // The previous analysis is dropped first, so a second report writes the file byte for byte as the first did.
  if (run.results !== null) {
    const { analysis: _previous, ...results } = run.results;
    writeJsonAtomic(join(run.dir, FILES.results), {
      ...results,
      analysis: { ...analysisJson(hypothesis), savings: savingsJson(metrics) },
    });
  }
  const sweep = thresholdSweep(run);
  const renderer = new PlotRenderer();
  const ctx: FigureContext = { run, metrics, hypothesis, sweep, renderer, seed, preset };
  const figures = allFigures(ctx);
  const figureDir = join(run.dir, 'figures');
  mkdirSync(figureDir, { recursive: true });
  const paths = figurePaths(figureDir, figures);
  const pngs = await rasterizeEach(figures, preset);
  figures.forEach((f, i) => {
    writeFileSync(paths[i]!.svg, f.svg);
    writeFileSync(paths[i]!.png, pngs[i]!);
  });
  // The HTML report is read on a screen: it embeds the screen rendering whatever preset the files use.
  const screen = preset.name === 'screen' ? figures : allFigures({ ...ctx, preset: PRESETS.screen });
  const screenPngs = preset.name === 'screen' ? pngs : await rasterizeEach(screen, PRESETS.screen);
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
  writeFileSync(
    html,
    renderHtmlReport({ ...input, tables, figures: screen.map((f, i) => ({ ...f, png: screenPngs[i]! })) }),
  );
  writeFileSync(markdown, renderMarkdownReport({ ...input, tables, figures }));
  return {
    drawn: { dir: figureDir, figures, preset, files: paths },
    files: { captions, html, markdown, tablesTex, tablesCsv, failuresCsv },
    preset: preset.name,
    metrics,
    hypothesis,
    sweep,
  };
}

/**
 * Turns a run directory into `figures/*.svg|png|pdf` and `figures/captions.md`, `report.html`, `report.md`,
 * `tables.tex`, `tables.csv` and `failures.csv` inside it. Reads only the run store, so it works on finished, interrupted and copied runs alike.
 */
export async function generateReport(
  runDir: string | RunStore,
  options: GenerateReportOptions = {},
): Promise<GeneratedReport> {
  const { drawn, files, ...report } = await reportFromRecords(runDir, options);
  // The run's records are no longer reachable here: the PDF converter's peak does not sit on top of them.
  for (const [i, f] of drawn.figures.entries())
    writeFileSync(drawn.files[i]!.pdf, await svgToPdf(f.name, f.svg, drawn.preset, f.title));
  return { ...report, files: { ...files, figures: drawn.files } };
}
