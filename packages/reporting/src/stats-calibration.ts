import { StatisticsInputError } from './errors.js';
import { assertFinite } from './stats.js';

/*
 * What a user can do with a confidence: how well it is calibrated (ECE and the reliability diagram, Guo et al.
 * 2017) and what abstaining on the least confident buys (risk–coverage, Geifman & El-Yaniv 2017).
 */

function checkPairs(values: readonly number[], correct: readonly boolean[], fn: string): void {
  if (values.length !== correct.length)
    throw new StatisticsInputError(
      `${fn}: ${values.length} values but ${correct.length} outcomes; pass one outcome per value`,
    );
  assertFinite(values, `${fn} values`);
}

export interface ReliabilityBin {
  index: number;
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin; null when empty. */
  meanConfidence: number | null;
  /** Share correct in the bin; null when empty. */
  accuracy: number | null;
}

export interface CalibrationResult {
  /** Σ_b (n_b / N) · |acc_b − conf_b|; NaN without data. */
  ece: number;
  /** Every bin, empty ones included (count 0): the points of the reliability diagram, with their counts. */
  bins: ReliabilityBin[];
  n: number;
}

/**
 * Expected calibration error over equal-width bins of predicted probability (a vote share is one). Bin b covers
 * (b/B, (b+1)/B], the first also 0, exactly as sklearn's `calibration_curve(strategy='uniform')` assigns them.
 */
export function expectedCalibrationError(
  probabilities: readonly number[],
  correct: readonly boolean[],
  options: { bins?: number } = {},
): CalibrationResult {
  checkPairs(probabilities, correct, 'expectedCalibrationError');
  const B = options.bins ?? 10;
  if (!Number.isSafeInteger(B) || B < 1)
    throw new StatisticsInputError(
      `expectedCalibrationError: bins is ${String(B)}; pass a positive integer such as 10`,
    );
  probabilities.forEach((p, i) => {
    if (p < 0 || p > 1)
      throw new StatisticsInputError(
        `expectedCalibrationError: probabilities[${i}] is ${p}; pass probabilities in [0, 1]`,
      );
  });
  // numpy.linspace(0, 1, B + 1) computes edge i as i * (1 / B); the same floats give the same bins.
  const step = 1 / B;
  const edges = Array.from({ length: B + 1 }, (_, i) => (i === B ? 1 : i * step));
  const counts = new Array<number>(B).fill(0);
  const confSum = new Array<number>(B).fill(0);
  const hits = new Array<number>(B).fill(0);
  probabilities.forEach((p, i) => {
    let b = 0;
    while (b < B - 1 && edges[b + 1]! < p) b++;
    counts[b]!++;
    confSum[b]! += p;
    if (correct[i]) hits[b]!++;
  });
  const n = probabilities.length;
  let ece = n === 0 ? Number.NaN : 0;
  const bins = counts.map((count, index): ReliabilityBin => {
    const meanConfidence = count > 0 ? confSum[index]! / count : null;
    const accuracy = count > 0 ? hits[index]! / count : null;
    if (count > 0) ece += (count / n) * Math.abs((accuracy as number) - (meanConfidence as number));
    return { index, lower: edges[index]!, upper: edges[index + 1]!, count, meanConfidence, accuracy };
  });
  return { ece, bins, n };
}

export interface RiskCoveragePoint {
  /** Decisions kept are those with confidence above this (null: everything kept). */
  threshold: number | null;
  coverage: number;
  /** Error rate among the kept decisions; null when nothing is kept. */
  risk: number | null;
  kept: number;
  errors: number;
}

/**
 * Risk–coverage curve: abstain on the least confident first. One point per distinct confidence (ties leave
 * together, so the curve does not depend on the order of equal scores), from full coverage down to none.
 */
export function riskCoverageCurve(confidences: readonly number[], correct: readonly boolean[]): RiskCoveragePoint[] {
  checkPairs(confidences, correct, 'riskCoverageCurve');
  const n = confidences.length;
  const order = confidences.map((c, i) => [c, correct[i] === true] as const).sort((a, b) => a[0] - b[0]);
  let kept = n;
  let errors = order.filter(([, ok]) => !ok).length;
  const points: RiskCoveragePoint[] = [
    { threshold: null, coverage: n > 0 ? 1 : 0, risk: n > 0 ? errors / n : null, kept, errors },
  ];
  for (let i = 0; i < n; ) {
    const value = order[i]![0];
    for (; i < n && order[i]![0] === value; i++) {
      kept--;
      if (!order[i]![1]) errors--;
    }
    points.push({ threshold: value, coverage: kept / n, risk: kept > 0 ? errors / kept : null, kept, errors });
  }
  return points;
}

export interface ReviewFlagging {
  /** The share asked for (0..1). */
  requestedShare: number;
  /** Decisions flagged: whole groups of equal confidence, never more than the share unless one group alone exceeds it. */
  flagged: number;
  flaggedShare: number;
  /** Wrong decisions among all, and among the flagged ones. */
  wrong: number;
  wrongCaught: number;
  /** wrongCaught / wrong; null when nothing was wrong. */
  caughtShare: number | null;
  /** The highest flagged confidence. */
  cut: number | null;
  n: number;
}

/** "Flag the least confident X % for review: you catch Y % of the wrong ones." */
export function flagLeastConfident(
  confidences: readonly number[],
  correct: readonly boolean[],
  share: number,
): ReviewFlagging {
  checkPairs(confidences, correct, 'flagLeastConfident');
  if (!(share > 0 && share <= 1))
    throw new StatisticsInputError(
      `flagLeastConfident: share is ${String(share)}; pass a fraction in (0, 1] such as 0.2`,
    );
  const n = confidences.length;
  const wrong = correct.filter((c) => !c).length;
  const sorted = [...confidences].sort((a, b) => a - b);
  const k = Math.ceil(share * n);
  const cutAt = n > 0 ? sorted[k - 1]! : null;
  // Equal confidences are flagged together: if the tie at the cut would overshoot the share (many unanimous
  // votes at 1.0), flag only what lies strictly below it, unless that is nothing.
  const atOrBelow = cutAt === null ? [] : confidences.flatMap((c, i) => (c <= cutAt ? [i] : []));
  const below = cutAt === null ? [] : confidences.flatMap((c, i) => (c < cutAt ? [i] : []));
  const flaggedIdx = atOrBelow.length > k && below.length > 0 ? below : atOrBelow;
  const cut = flaggedIdx.length === 0 ? null : Math.max(...flaggedIdx.map((i) => confidences[i]!));
  const wrongCaught = flaggedIdx.filter((i) => !correct[i]).length;
  return {
    requestedShare: share,
    flagged: flaggedIdx.length,
    flaggedShare: n > 0 ? flaggedIdx.length / n : 0,
    wrong,
    wrongCaught,
    caughtShare: wrong > 0 ? wrongCaught / wrong : null,
    cut,
    n,
  };
}
