export { detectRefusal } from './detect.js';
export type { DetectRefusalOptions, RefusalEvidence, RefusalLabel, RefusalResult } from './detect.js';
export { splitThinking, normalizeForMatching, maskQuotations, splitSentences } from './text.js';
export type { Sentence, ThinkingSplit } from './text.js';
export { REFUSAL_PATTERNS, REFUSAL_CATEGORIES, polarityOf } from './patterns.js';
export type { PatternCategory, Polarity, RefusalPattern } from './patterns.js';
export { RefusalError, InvalidInputError, JudgeParseError, JudgeCallError, EvaluationFileError, isRefusalError } from './errors.js';
export { evaluateRefusalFile, evaluateRows, mergeEvaluations, parseLabelledCsv, parseGoldLabel, formatEvaluation, LABELS } from './evaluate.js';
export type { BinaryMetrics, Classifier, EvaluateOptions, EvaluationResult, FormatOptions, LabelledRow, Misclassified } from './evaluate.js';
export {
  createRefusalJudge, detectRefusalWithJudge, buildJudgePrompt, parseXstestJudgeAnswer, parseWildguardJudgeAnswer,
  XSTEST_JUDGE_TEMPLATE, WILDGUARD_JUDGE_TEMPLATE, DEFAULT_AMBIGUITY_BAND,
} from './judge.js';
export type { CompleteFn, CreateJudgeOptions, DetectWithJudgeOptions, JudgeBand, JudgeStyle, JudgedRefusalResult, RefusalJudge } from './judge.js';
export { xstestStringMatch } from './baseline.js';
