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
export {
  wilsonInterval,
  newcombeInterval,
  compareProportions,
  holmAdjust,
  cochranMantelHaenszel,
  type Interval,
  type DifferenceInterval,
  type ProportionComparison,
  type Table2x2,
  type CmhResult,
} from './stats-proportions.js';
export {
  logisticRegression,
  logisticRegressionMulti,
  type LogisticRegressionResult,
  type LogisticFit,
  type LogisticFailure,
} from './stats-logistic.js';
export { aurocInterval, spearmanCorrelation, type AurocInterval, type SpearmanResult } from './stats-rank.js';
export {
  expectedCalibrationError,
  riskCoverageCurve,
  flagLeastConfident,
  type CalibrationResult,
  type ReliabilityBin,
  type RiskCoveragePoint,
  type ReviewFlagging,
} from './stats-calibration.js';
export { permutationTest, differenceInProportions, type PermutationResult } from './stats-permutation.js';
export {
  computeMetrics,
  splitOf,
  rate,
  BUCKETS,
  type RunMetrics,
  type Rate,
  type BucketMetrics,
  type CategoryMetrics,
} from './metrics.js';
export {
  hypothesisTests,
  PRIMARY_TESTS,
  PRIMARY_DESCRIPTIONS,
  DEFAULT_PRIMARY_TEST,
  type PrimaryTestName,
  type HypothesisOptions,
  type HypothesisResult,
  type TestStatement,
  type TestRow,
} from './hypothesis.js';
export { decisionLengths, decisionRows, untestableReason, type DecisionRow } from './hypothesis-data.js';
export { thresholdSweep, replayStop, type ThresholdSweep, type SweepPoint } from './threshold-sweep.js';
export { readRun, type RunData, type ReadRunOptions } from './run-data.js';
export {
  savingsBreakdown,
  savingsIntervalText,
  SAVINGS_RESAMPLES,
  type SavingsBreakdown,
  type SavingsInterval,
} from './savings-interval.js';
export {
  generateReport,
  type GenerateReportOptions,
  type GeneratedReport,
  type GeneratedFigureFiles,
} from './generate.js';
export { compareRuns, type CompareOptions, type Comparison, type ComparisonRow } from './compare.js';
export { renderHtmlReport, escapeHtml } from './report-html.js';
export { renderMarkdownReport, escapeMarkdownCell } from './report-md.js';
export { OKABE_ITO, OUTCOME_COLORS, EMULATED_BANNER, FONT_FAMILY, FONT_SIZE } from './figures/palette.js';
export {
  PlotRenderer,
  composeFigure,
  rasterize,
  svgToPdf,
  svgSize,
  escapeXml,
  textWidth,
  wrapText,
  type Panel,
  type FigureSpec,
  type LegendShape,
} from './figures/render.js';
export { PRESETS, PRESET_NAMES, presetByName, type FigurePreset, type PresetName } from './figures/presets.js';
export { readableCategory, placeLabels } from './figures/common.js';
export { formatP, pct, num, int } from './format.js';
export {
  judgeAgreements,
  cohensKappa,
  type JudgeAgreement,
  type HarmView,
  type Disagreement,
} from './judge-agreement.js';
export {
  analyzeRun,
  analysisJson,
  declaredPrimary,
  recordedDecisionConfidence,
  type AnalyzeOptions,
} from './analysis.js';
export {
  mcnemarExact,
  pairedBootstrapDifference,
  type McNemarResult,
  type PairedOutcome,
  type PairedBootstrapResult,
  type PairedBootstrapOptions,
} from './stats-paired.js';
export { readStudy, type StudyData, type StudyCellData } from './study-data.js';
export {
  analyzeStudy,
  type StudyAnalysis,
  type StudyTable,
  type StudyRow,
  type StudyComparison,
  type StudyWarning,
  type Estimate,
  type StudyAnalysisOptions,
} from './study-stats.js';
export { generateStudyReport, type GeneratedStudyReport } from './study-report.js';
export {
  judgeAgreementHtml,
  judgeAgreementMarkdown,
  judgeDisagreementsHtml,
  judgeDisagreementsMarkdown,
  judgeFacts,
} from './judge-section.js';
