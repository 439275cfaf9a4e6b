import { median as d3Median, quantileSorted } from 'd3-array';
import { BenchMeasurementError } from './errors.js';

export function median(xs: readonly number[], what: string): number {
  const m = d3Median(xs);
  if (m === undefined) throw new BenchMeasurementError(`no samples for ${what}`);
  return m;
}

/** Nearest-rank percentile (p in 0..100): an observed value, as "p99 tokens" should be a whole number of tokens. */
export function percentileRank(xs: readonly number[], p: number, what: string): number {
  if (xs.length === 0) throw new BenchMeasurementError(`no samples for ${what}`);
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Linear-interpolated quantile (q in 0..1), for continuous figures. */
export function quantile(xs: readonly number[], q: number, what: string): number {
  if (xs.length === 0) throw new BenchMeasurementError(`no samples for ${what}`);
  return quantileSorted(
    [...xs].sort((a, b) => a - b),
    q,
  ) as number;
}

/** CPU seconds (user + system) of this process spent in `fn`. */
export async function cpuSeconds<T>(fn: () => Promise<T> | T): Promise<{ value: T; cpu: number; wall: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = await fn();
  const d = process.cpuUsage(c0);
  return { value, cpu: (d.user + d.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}
