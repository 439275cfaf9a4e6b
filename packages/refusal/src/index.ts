export { detectRefusal } from './detect.js';
export type { DetectRefusalOptions, RefusalEvidence, RefusalLabel, RefusalResult } from './detect.js';
export { splitThinking, normalizeForMatching, maskQuotations, splitSentences } from './text.js';
export type { Sentence, ThinkingSplit } from './text.js';
export { REFUSAL_PATTERNS, REFUSAL_CATEGORIES, polarityOf } from './patterns.js';
export type { PatternCategory, Polarity, RefusalPattern } from './patterns.js';
export {
  RefusalError,
  InvalidInputError,
  JudgeParseError,
  JudgeCallError,
  EvaluationFileError,
  isRefusalError,
} from './errors.js';
export {
  evaluateRefusalFile,
  evaluateRows,
  detectWithPrompt,
  mergeEvaluations,
  parseLabelledCsv,
  parseGoldLabel,
  formatEvaluation,
  LABELS,
} from './evaluate.js';
export type {
  BinaryMetrics,
  Classifier,
  EvaluateOptions,
  EvaluationResult,
  FormatOptions,
  LabelledRow,
  Misclassified,
  Outcome,
} from './evaluate.js';
export {
  createRefusalJudge,
  detectRefusalWithJudge,
  buildJudgePrompt,
  parseXstestJudgeAnswer,
  parseWildguardJudgeAnswer,
  DEFAULT_AMBIGUITY_BAND,
} from './judge.js';
export type {
  CompleteFn,
  CreateJudgeOptions,
  DetectWithJudgeOptions,
  JudgeBand,
  JudgedRefusalResult,
  RefusalJudge,
  RefusalJudgeStyle,
} from './judge.js';
export {
  JUDGE_STYLES,
  JUDGE_CAPABILITIES,
  XSTEST_JUDGE_TEMPLATE,
  WILDGUARD_INSTRUCTION,
  WILDGUARD_JUDGE_TEMPLATE,
  HARMBENCH_SYSTEM,
  HARMBENCH_BODY,
  HARMBENCH_JUDGE_TEMPLATE,
  buildJudgeRequest,
  parseJudgeAnswer,
  parseXstestAnswer,
  parseWildguardAnswer,
  parseHarmbenchAnswer,
} from './judge-formats.js';
export type {
  JudgeStyle,
  JudgeMessage,
  JudgeRequestText,
  JudgeVerdict,
  JudgeParseResult,
  JudgeParseErrorCode,
} from './judge-formats.js';
export { xstestStringMatch } from './baseline.js';
export {
  bootstrapF1,
  binaryMetrics,
  breakdownByGroup,
  formatBreakdown,
  formatInterval,
  DEFAULT_BOOTSTRAP,
} from './evaluate-stats.js';
export type { BootstrapInterval, BootstrapOptions, GroupFigures } from './evaluate-stats.js';
export { analyseResponse, ruleVerdict } from './detect.js';
export type { ResponseAnalysis, RuleVerdict } from './detect.js';
export { promptTerms, promptEngagement } from './prompt.js';
export type { PromptEngagement } from './prompt.js';
export { FEATURE_NAMES, extractFeatures } from './features.js';
export { combineWithLearned, learnedProbability } from './learned.js';
export type { LearnedModel } from './learned.js';
export { LEARNED_MODEL } from './learned-weights.js';
