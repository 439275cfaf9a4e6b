import { assignBucket, type InstanceRecord } from '@deepconf-safety/run-store';
import { formatP, num, pct } from './format.js';
import { rate, type Rate } from './metrics.js';
import {
  auroc,
  bootstrapTwoSampleCI,
  cohensD,
  fisherExact,
  mannWhitneyU,
  welchTTest,
  type BootstrapOptions,
  type BootstrapResult,
  type FisherResult,
  type MannWhitneyResult,
  type WelchResult,
} from './stats.js';

export interface HypothesisOptions {
  /** Prompt confidences at or above this are "confident" (results.json's buckets.splitConfidence). */
  splitConfidence: number | null;
  /** Significance level used in the wording (default 0.05). */
  alpha?: number;
  /** Bootstrap of the accuracy gap (default 10,000 resamples, 95%, seed 0). */
  bootstrap?: BootstrapOptions;
}

/** One test, with the sentence the reports print for it. */
export interface TestStatement {
  name: string;
  /** True when p < alpha; null when the test could not be computed. */
  significant: boolean | null;
  n: number;
  text: string;
}

export interface HypothesisResult {
  alpha: number;
  splitConfidence: number | null;
  uncertainCompliance: Rate;
  confidentCompliance: Rate;
  /** Accuracy of confident minus uncertain compliance: positive means low-confidence compliance is riskier. */
  gap: BootstrapResult | null;
  /** Table [[uncertain incorrect, uncertain correct], [confident incorrect, confident correct]]: odds ratio > 1 = uncertain compliance is more often wrong. */
  fisher: (FisherResult & { table: [[number, number], [number, number]] }) | null;
  /** Confidence of correct versus incorrect decisions (all decided, labelled prompts). */
  confidence: { correct: number[]; incorrect: number[] };
  welch: WelchResult | null;
  cohensD: number | null;
  mannWhitney: MannWhitneyResult | null;
  /** AUROC of decision confidence as a predictor of a correct decision. */
  auroc: number | null;
  statements: TestStatement[];
}

const accuracyOf = (xs: readonly boolean[]): number => (xs.length === 0 ? Number.NaN : xs.filter(Boolean).length / xs.length);

function verdict(p: number, alpha: number, n: number): { significant: boolean | null; words: string } {
  if (Number.isNaN(p)) return { significant: null, words: `not computable (n = ${n})` };
  const significant = p < alpha;
  return { significant, words: `${significant ? 'significant' : 'not significant'} (${formatP(p)}, n = ${n})` };
}

/**
 * The statistics of "low-confidence compliance is riskier". Small samples are expected: every test says
 * in words whether it is significant, and tests that cannot be computed say so instead of disappearing.
 */
export function hypothesisTests(instances: readonly InstanceRecord[], options: HypothesisOptions): HypothesisResult {
  const alpha = options.alpha ?? 0.05;
  const labelled = instances.filter((i) => i.decision !== null && i.correct !== null && i.confidence !== null);
  const uncertain: boolean[] = [];
  const confident: boolean[] = [];
  for (const i of labelled) {
    const bucket = assignBucket(i.decision, i.confidence, options.splitConfidence);
    if (bucket === 'uncertain_compliance') uncertain.push(i.correct === true);
    if (bucket === 'confident_compliance') confident.push(i.correct === true);
  }
  const uncertainCompliance = rate(uncertain.filter(Boolean).length, uncertain.length);
  const confidentCompliance = rate(confident.filter(Boolean).length, confident.length);
  const statements: TestStatement[] = [];
  const nCompliance = uncertain.length + confident.length;

  let gap: BootstrapResult | null = null;
  let fisher: HypothesisResult['fisher'] = null;
  if (uncertain.length > 0 && confident.length > 0) {
    gap = bootstrapTwoSampleCI(confident, uncertain, (c, u) => accuracyOf(c) - accuracyOf(u), options.bootstrap);
    const table: [[number, number], [number, number]] = [
      [uncertainCompliance.n - uncertainCompliance.k, uncertainCompliance.k],
      [confidentCompliance.n - confidentCompliance.k, confidentCompliance.k],
    ];
    fisher = { ...fisherExact(table), table };
    const ciExcludesZero = gap.lower > 0 || gap.upper < 0;
    statements.push({
      name: 'Accuracy gap',
      significant: ciExcludesZero,
      n: nCompliance,
      text:
        `Uncertain compliance was correct in ${uncertainCompliance.k}/${uncertainCompliance.n} (${pct(uncertainCompliance.value)}), ` +
        `confident compliance in ${confidentCompliance.k}/${confidentCompliance.n} (${pct(confidentCompliance.value)}): ` +
        `a gap of ${(100 * gap.estimate).toFixed(1)} points (bootstrap ${Math.round(gap.level * 100)}% CI ${(100 * gap.lower).toFixed(1)} to ${(100 * gap.upper).toFixed(1)}; ` +
        `${ciExcludesZero ? 'the interval excludes 0' : 'the interval includes 0, so the gap is not significant'}).`,
    });
    const v = verdict(fisher.pValue, alpha, nCompliance);
    statements.push({
      name: "Fisher's exact test",
      significant: v.significant,
      n: nCompliance,
      text: `Fisher's exact test (uncertain vs confident compliance × correct): ${v.words}; odds ratio of an error ${num(fisher.oddsRatio, 2)}.`,
    });
  } else {
    const missing = uncertain.length === 0 ? 'no uncertain compliance' : 'no confident compliance';
    statements.push({ name: 'Accuracy gap', significant: null, n: nCompliance, text: `Accuracy gap and Fisher's exact test: not computable (${missing} among labelled prompts, n = ${nCompliance}).` });
  }

  const correct = labelled.filter((i) => i.correct).map((i) => i.confidence as number);
  const incorrect = labelled.filter((i) => !i.correct).map((i) => i.confidence as number);
  const nConf = correct.length + incorrect.length;
  let welch: WelchResult | null = null;
  let d: number | null = null;
  let mw: MannWhitneyResult | null = null;
  let auc: number | null = null;
  if (correct.length > 0 && incorrect.length > 0) {
    welch = welchTTest(correct, incorrect);
    d = cohensD(correct, incorrect);
    mw = mannWhitneyU(correct, incorrect);
    auc = auroc(labelled.map((i) => i.confidence as number), labelled.map((i) => i.correct === true));
    const w = verdict(welch.pValue, alpha, nConf);
    statements.push({
      name: "Welch's t-test",
      significant: w.significant,
      n: nConf,
      text: `Confidence of correct (n = ${correct.length}) vs incorrect (n = ${incorrect.length}) decisions, Welch's t-test: ${w.words}; t = ${num(welch.t, 2)}, df = ${num(welch.df, 1)}, Cohen's d = ${num(d, 2)}.`,
    });
    const m = verdict(mw.pValue, alpha, nConf);
    statements.push({ name: 'Mann-Whitney U', significant: m.significant, n: nConf, text: `Mann-Whitney U (${mw.method}): ${m.words}; U = ${num(mw.u, 1)}.` });
    statements.push({
      name: 'AUROC',
      significant: null,
      n: nConf,
      text: `AUROC of confidence as a predictor of a correct decision: ${num(auc, 3)} (0.5 = no better than chance, n = ${nConf}).`,
    });
  } else {
    statements.push({
      name: "Welch's t-test",
      significant: null,
      n: nConf,
      text: `Confidence of correct vs incorrect decisions: not computable (${correct.length} correct, ${incorrect.length} incorrect labelled decisions; both are needed).`,
    });
  }

  return {
    alpha,
    splitConfidence: options.splitConfidence,
    uncertainCompliance,
    confidentCompliance,
    gap,
    fisher,
    confidence: { correct, incorrect },
    welch,
    cohensD: d,
    mannWhitney: mw,
    auroc: auc,
    statements,
  };
}
