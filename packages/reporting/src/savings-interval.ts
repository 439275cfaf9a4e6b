import type { InstanceRecord } from '@deepconf-safety/run-store';
import { bootstrapSumsCI, type BootstrapResult } from './stats.js';

/**
 * Resamples of the savings interval. The savings figure draws its whiskers from the same resamples and seed, so
 * the table's interval and the figure's are the same numbers.
 */
export const SAVINGS_RESAMPLES = 2000;

/** Token savings of a group of prompts with a percentile-bootstrap 95% interval over its prompts. */
export interface SavingsInterval {
  /** Percent of the baseline not generated, or null when the baseline is 0. */
  percent: number | null;
  lower: number | null;
  upper: number | null;
  /** Prompts resampled. */
  n: number;
  resamples: number;
  seed: number;
}

/** Mean tokens and mean baseline tokens per prompt, with intervals from the same resamples as the savings. */
export interface SavingsBreakdown {
  savings: SavingsInterval;
  tokensPerPrompt: BootstrapResult;
  baselinePerPrompt: BootstrapResult;
}

// Column sums of tokens (0) and baseline tokens (1): savings is a ratio of sums, not a mean of per-prompt ratios,
// so a long prompt weighs what its tokens weigh; the bootstrap resamples prompts (the unit of analysis).
const ratioSavings = (sums: Float64Array): number => {
  const b = sums[1] as number;
  return b > 0 ? (100 * (b - (sums[0] as number))) / b : Number.NaN;
};
const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Savings, tokens and baseline per prompt of `members`, each with a bootstrap 95% interval over the prompts. */
export function savingsBreakdown(
  members: readonly Pick<InstanceRecord, 'tokens' | 'baselineTokens'>[],
  seed: number,
): SavingsBreakdown | null {
  if (members.length === 0) return null;
  const columns = [Float64Array.from(members, (i) => i.tokens), Float64Array.from(members, (i) => i.baselineTokens)];
  const [s, t, b] = bootstrapSumsCI(
    columns,
    [ratioSavings, (sums, n) => (sums[0] as number) / n, (sums, n) => (sums[1] as number) / n],
    { resamples: SAVINGS_RESAMPLES, seed },
  ) as [BootstrapResult, BootstrapResult, BootstrapResult];
  const percent = finiteOrNull(s.estimate);
  return {
    savings: {
      percent,
      lower: percent === null ? null : finiteOrNull(s.lower),
      upper: percent === null ? null : finiteOrNull(s.upper),
      n: members.length,
      resamples: SAVINGS_RESAMPLES,
      seed,
    },
    tokensPerPrompt: t,
    baselinePerPrompt: b,
  };
}

/** "22.4% [18.1, 26.0]", or "n/a" without a baseline. */
export function savingsIntervalText(s: SavingsInterval | null): string {
  if (s === null || s.percent === null) return 'n/a';
  const ci = s.lower === null || s.upper === null ? '' : ` [${s.lower.toFixed(1)}, ${s.upper.toFixed(1)}]`;
  return `${s.percent.toFixed(1)}%${ci}`;
}

/** results.json's `analysis.savings`: the overall savings with its interval, how it was computed, per category. */
export function savingsJson(m: {
  tokens: { baselineEstimated: boolean; savingsInterval: SavingsInterval | null };
  perCategory: ReadonlyArray<{ category: string; savingsInterval: SavingsInterval | null }>;
}): Record<string, unknown> {
  return {
    method: 'ratio of token sums; percentile bootstrap 95% interval over prompts',
    baseline: m.tokens.baselineEstimated ? 'estimated' : 'exact',
    overall: m.tokens.savingsInterval,
    perCategory: Object.fromEntries(m.perCategory.map((c) => [c.category, c.savingsInterval])),
  };
}
