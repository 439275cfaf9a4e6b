import { StatisticsInputError } from './errors.js';
import { seededRandom } from './stats.js';

export interface PermutationResult {
  observed: number;
  /** (b + 1) / (m + 1), b = permutations at least as extreme (two-sided, |T| ≥ |T_obs|). */
  pValue: number;
  permutations: number;
  seed: number;
}

/**
 * Seeded two-sample permutation test (Monte Carlo, the group labels shuffled): p = (b + 1)/(m + 1), so it is
 * never 0 and stays valid (Phipson & Smyth 2010). Default 10,000 permutations. For the primary statistic
 * when n is small; the same seed gives the same p.
 */
export function permutationTest<T>(
  a: readonly T[],
  b: readonly T[],
  statistic: (a: readonly T[], b: readonly T[]) => number,
  options: { permutations?: number; seed?: number } = {},
): PermutationResult {
  const permutations = options.permutations ?? 10_000;
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(permutations) || permutations < 1) {
    throw new StatisticsInputError(
      `permutationTest: permutations is ${String(permutations)}; pass a positive integer such as 10000`,
    );
  }
  if (a.length === 0 || b.length === 0)
    throw new StatisticsInputError(
      `permutationTest: a group is empty (sizes ${a.length} and ${b.length}); both need observations`,
    );
  const observed = statistic(a, b);
  const pooled = [...a, ...b];
  const random = seededRandom(seed);
  // Equal up to rounding counts as "as extreme": permuted means of 0/1 data reproduce the observed value in floats.
  const bar = Math.abs(observed) * (1 - 1e-12) - 1e-15;
  let extreme = 0;
  for (let r = 0; r < permutations; r++) {
    for (let i = pooled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pooled[i], pooled[j]] = [pooled[j]!, pooled[i]!];
    }
    if (Math.abs(statistic(pooled.slice(0, a.length), pooled.slice(a.length))) >= bar) extreme++;
  }
  return { observed, pValue: (extreme + 1) / (permutations + 1), permutations, seed };
}

/** Difference in the share of `true`: the statistic of the primary test, for {@link permutationTest}. */
export const differenceInProportions = (a: readonly boolean[], b: readonly boolean[]): number =>
  a.filter(Boolean).length / a.length - b.filter(Boolean).length / b.length;
