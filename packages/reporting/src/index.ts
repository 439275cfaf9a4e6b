export { ReportingError, StatisticsInputError, RunInputError, FigureRenderError, isReportingError } from './errors.js';
export {
  fisherExact,
  welchTTest,
  cohensD,
  mannWhitneyU,
  auroc,
  bootstrapCI,
  bootstrapTwoSampleCI,
  seededRandom,
  type FisherResult,
  type WelchResult,
  type MannWhitneyResult,
  type BootstrapOptions,
  type BootstrapResult,
} from './stats.js';
export { computeMetrics, splitOf, rate, BUCKETS, type RunMetrics, type Rate, type BucketMetrics, type CategoryMetrics } from './metrics.js';
export { hypothesisTests, type HypothesisOptions, type HypothesisResult, type TestStatement } from './hypothesis.js';
export { thresholdSweep, replayStop, type ThresholdSweep, type SweepPoint } from './threshold-sweep.js';
export { readRun, type RunData } from './run-data.js';
export { generateReport, type GenerateReportOptions, type GeneratedReport } from './generate.js';
export { compareRuns, type CompareOptions, type Comparison, type ComparisonRow } from './compare.js';
export { renderHtmlReport, escapeHtml } from './report-html.js';
export { renderMarkdownReport, escapeMarkdownCell } from './report-md.js';
export { OKABE_ITO, OUTCOME_COLORS, EMULATED_BANNER, FONT_FAMILY, FONT_SIZE } from './figures/palette.js';
export { PlotRenderer, composeFigure, rasterize, escapeXml, textWidth, wrapText, type Panel, type FigureSpec } from './figures/render.js';
export { formatP, pct, num, int } from './format.js';
