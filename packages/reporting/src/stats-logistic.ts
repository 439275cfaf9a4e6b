import normal from '@stdlib/stats-base-dists-normal';
import { StatisticsInputError } from './errors.js';
import { assertFinite } from './stats.js';

/*
 * Logistic regression by maximum likelihood (Newton–Raphson with step halving), Wald standard errors and
 * two-sided normal p-values, as statsmodels' `Logit(y, add_constant(X)).fit()`. Under complete or
 * quasi-complete separation the MLE does not exist: the fit says `converged: false` with the reason and NaN
 * coefficients, rather than a huge slope. The linear algebra is a few lines of Gauss–Jordan because the
 * systems are tiny (an intercept and one or two predictors).
 */

/** Why a fit has no estimate. */
export type LogisticFailure = 'one-outcome' | 'separation' | 'singular' | 'not-converged' | 'too-few';

export interface LogisticFit {
  /** Intercept first, then one coefficient per predictor. NaN when not converged. */
  coefficients: number[];
  standardErrors: number[];
  pValues: number[];
  converged: boolean;
  /** Set when `converged` is false. */
  failure: LogisticFailure | null;
  iterations: number;
  n: number;
}

export interface LogisticRegressionResult {
  intercept: number;
  slope: number;
  interceptSE: number;
  slopeSE: number;
  /** Wald test of slope = 0, two-sided. */
  slopePValue: number;
  converged: boolean;
  failure: LogisticFailure | null;
  n: number;
}

const MAX_ITERATIONS = 100;
const TOLERANCE = 1e-10;
/** Fitted probabilities this close to the outcomes on every row: the data are separated. */
const SEPARATED = 1e-8;

/** Inverse of a small symmetric positive-definite matrix, or null when it is (numerically) singular. */
function invert(matrix: readonly number[][]): number[][] | null {
  const k = matrix.length;
  const a = matrix.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  const scale = Math.max(...matrix.map((row, i) => Math.abs(row[i]!)), Number.MIN_VALUE);
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (Math.abs(a[pivot]![col]!) < 1e-12 * scale) return null;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    for (let j = 0; j < 2 * k; j++) a[col]![j]! /= p;
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]!;
      if (f !== 0) for (let j = 0; j < 2 * k; j++) a[r]![j]! -= f * a[col]![j]!;
    }
  }
  return a.map((row) => row.slice(k));
}

const sigmoid = (eta: number): number => (eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta)));

function logLikelihood(design: readonly number[][], y: readonly number[], beta: readonly number[]): number {
  let ll = 0;
  design.forEach((row, i) => {
    const eta = row.reduce((s, v, j) => s + v * beta[j]!, 0);
    // log(1 + e^eta) computed stably on both sides.
    const softplus = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
    ll += y[i]! * eta - softplus;
  });
  return ll;
}

/** Gradient and observed information (X'WX) at beta. */
function scoreAndInformation(design: readonly number[][], y: readonly number[], beta: readonly number[]) {
  const k = beta.length;
  const gradient = new Array<number>(k).fill(0);
  const info = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const fitted: number[] = [];
  design.forEach((row, i) => {
    const p = sigmoid(row.reduce((s, v, j) => s + v * beta[j]!, 0));
    fitted.push(p);
    const w = p * (1 - p);
    for (let a = 0; a < k; a++) {
      gradient[a]! += (y[i]! - p) * row[a]!;
      for (let b = 0; b < k; b++) info[a]![b]! += w * row[a]! * row[b]!;
    }
  });
  return { gradient, info, fitted };
}

function failed(k: number, failure: LogisticFailure, iterations: number, n: number): LogisticFit {
  const nan = new Array<number>(k).fill(Number.NaN);
  return { coefficients: nan, standardErrors: [...nan], pValues: [...nan], converged: false, failure, iterations, n };
}

function validate(rows: readonly (readonly number[])[], y: readonly (boolean | number)[], fn: string): number[] {
  if (rows.length !== y.length)
    throw new StatisticsInputError(
      `${fn}: ${rows.length} rows of predictors but ${y.length} outcomes; pass one outcome per row`,
    );
  const width = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== width)
      throw new StatisticsInputError(
        `${fn}: row ${i} has ${r.length} predictors, row 0 has ${width}; pass a rectangular matrix`,
      );
    assertFinite(r, `${fn} X[${i}]`);
  });
  return y.map((v, i) => {
    if (v === true || v === 1) return 1;
    if (v === false || v === 0) return 0;
    throw new StatisticsInputError(`${fn}: y[${i}] is ${String(v)}; outcomes must be booleans or 0/1`);
  });
}

/**
 * Multi-predictor logistic regression of `y` on the columns of `X` plus an intercept (e.g. correctness on
 * confidence and token length).
 */
export function logisticRegressionMulti(
  X: readonly (readonly number[])[],
  y: readonly (boolean | number)[],
): LogisticFit {
  const outcomes = validate(X, y, 'logisticRegressionMulti');
  const n = outcomes.length;
  const k = (X[0]?.length ?? 0) + 1;
  if (n < k + 1) return failed(k, 'too-few', 0, n);
  const ones = outcomes.reduce((s, v) => s + v, 0);
  if (ones === 0 || ones === n) return failed(k, 'one-outcome', 0, n);
  const design = X.map((row) => [1, ...row]);
  let beta = new Array<number>(k).fill(0);
  let ll = logLikelihood(design, outcomes, beta);
  for (let iter = 1; iter <= MAX_ITERATIONS; iter++) {
    const { gradient, info, fitted } = scoreAndInformation(design, outcomes, beta);
    if (fitted.every((p, i) => Math.abs(p - outcomes[i]!) < SEPARATED)) return failed(k, 'separation', iter, n);
    const inverse = invert(info);
    if (inverse === null) return failed(k, iter === 1 ? 'singular' : 'separation', iter, n);
    const step = inverse.map((row) => row.reduce((s, v, j) => s + v * gradient[j]!, 0));
    let t = 1;
    let next = beta.map((b, j) => b + step[j]!);
    let nextLl = logLikelihood(design, outcomes, next);
    // Newton can overshoot far from the optimum; halve until the likelihood does not fall.
    for (let h = 0; h < 30 && !(nextLl >= ll - 1e-12); h++) {
      t /= 2;
      next = beta.map((b, j) => b + t * step[j]!);
      nextLl = logLikelihood(design, outcomes, next);
    }
    const change = Math.max(...next.map((b, j) => Math.abs(b - beta[j]!) / (1 + Math.abs(b))));
    beta = next;
    ll = nextLl;
    if (change < TOLERANCE) return finish(design, outcomes, beta, iter);
  }
  // Coefficients still growing after MAX_ITERATIONS: quasi-complete separation, the MLE is at infinity.
  return failed(k, 'not-converged', MAX_ITERATIONS, n);
}

function finish(design: readonly number[][], y: readonly number[], beta: number[], iterations: number): LogisticFit {
  const { info, fitted } = scoreAndInformation(design, y, beta);
  const n = y.length;
  const inverse = invert(info);
  if (inverse === null || fitted.some((p) => p < 1e-12 || p > 1 - 1e-12))
    return failed(beta.length, 'separation', iterations, n);
  const standardErrors = inverse.map((row, j) => Math.sqrt(row[j]!));
  const pValues = beta.map((b, j) => Math.min(1, 2 * normal.cdf(-Math.abs(b / standardErrors[j]!), 0, 1)));
  return { coefficients: beta, standardErrors, pValues, converged: true, failure: null, iterations, n };
}

/** Logistic regression of `y` on one predictor `x` (with an intercept): the slope, its Wald SE and p. */
export function logisticRegression(x: readonly number[], y: readonly (boolean | number)[]): LogisticRegressionResult {
  const fit = logisticRegressionMulti(
    x.map((v) => [v]),
    y,
  );
  return {
    intercept: fit.coefficients[0]!,
    slope: fit.coefficients[1]!,
    interceptSE: fit.standardErrors[0]!,
    slopeSE: fit.standardErrors[1]!,
    slopePValue: fit.pValues[1]!,
    converged: fit.converged,
    failure: fit.failure,
    n: fit.n,
  };
}
