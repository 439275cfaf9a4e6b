import { StatisticsInputError } from './errors.js';
import { decisionLengths } from './hypothesis-data.js';
import {
  DEFAULT_PRIMARY_TEST,
  PRIMARY_TESTS,
  hypothesisTests,
  type HypothesisResult,
  type PrimaryTestName,
} from './hypothesis.js';
import type { RunMetrics } from './metrics.js';
import type { RunData } from './run-data.js';

/*
 * The hypothesis analysis of one run, configured by what the run recorded: the primary test declared in its
 * config (`analysis.primary`), the decision-confidence definition it used, its benchmark, and the decision
 * lengths from its traces.
 */

/** The primary test a run declared (config `analysis.primary`), default compliance accuracy. */
export function declaredPrimary(run: Pick<RunData, 'manifest' | 'dir'>): PrimaryTestName {
  const declared = run.manifest.config.analysis?.primary;
  if (declared === undefined || declared === null) return DEFAULT_PRIMARY_TEST;
  if (typeof declared === 'string' && (PRIMARY_TESTS as readonly string[]).includes(declared))
    return declared as PrimaryTestName;
  throw new StatisticsInputError(
    `${run.dir}/manifest.json: config.analysis.primary is ${JSON.stringify(declared)}; use one of ${PRIMARY_TESTS.join(', ')}`,
  );
}

/** The decision-confidence definition a run recorded; runs before it was selectable used the lowest-group weighted mean. */
export function recordedDecisionConfidence(run: Pick<RunData, 'manifest'>): string {
  // The run store migrates manifests from before the option existed to lowest-group, what they used.
  return run.manifest.config.decisionConfidence;
}

export interface AnalyzeOptions {
  alpha?: number;
  seed?: number;
  permutations?: number;
}

export function analyzeRun(run: RunData, metrics: RunMetrics, options: AnalyzeOptions = {}): HypothesisResult {
  return hypothesisTests(run.instances, {
    splitConfidence: metrics.split.confidence,
    primary: declaredPrimary(run),
    decisionConfidence: recordedDecisionConfidence(run),
    lengths: decisionLengths(run.traces),
    benchmark: metrics.benchmark,
    ...(options.alpha === undefined ? {} : { alpha: options.alpha }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.permutations === undefined ? {} : { permutations: options.permutations }),
  });
}

const finite = (v: number | null | undefined): number | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;

/** The analysis as results.json's `analysis` block: the primary test first, numbers JSON can hold (NaN → null). */
export function analysisJson(h: HypothesisResult): Record<string, unknown> {
  return {
    primary: h.primary,
    alpha: h.alpha,
    decisionConfidence: h.decisionConfidence,
    untestable: h.untestable,
    splitConfidence: h.splitConfidence,
    uncertainCompliance: {
      ...h.uncertainCompliance,
      wilson: { lower: finite(h.intervals.uncertain.lower), upper: finite(h.intervals.uncertain.upper) },
    },
    confidentCompliance: {
      ...h.confidentCompliance,
      wilson: { lower: finite(h.intervals.confident.lower), upper: finite(h.intervals.confident.upper) },
    },
    tests: h.tests.map((t) => ({ ...t, pValue: finite(t.pValue), pAdjusted: finite(t.pAdjusted) })),
    auroc:
      h.auroc === null
        ? null
        : {
            auc: finite(h.auroc.auc),
            lower: finite(h.auroc.lower),
            upper: finite(h.auroc.upper),
            positives: h.auroc.positives,
            negatives: h.auroc.negatives,
          },
    review: h.review,
    lengthCorrelation:
      h.lengthCorrelation === null
        ? null
        : {
            rho: finite(h.lengthCorrelation.rho),
            lower: finite(h.lengthCorrelation.lower),
            upper: finite(h.lengthCorrelation.upper),
            n: h.lengthCorrelation.n,
          },
    calibration: h.calibration === null ? null : { ece: finite(h.calibration.ece), bins: h.calibration.bins },
    statements: h.statements.map((s) => ({ role: s.role, text: s.text })),
  };
}
