import { DatasetOptionError } from './errors.js';
import type { BenchmarkRecord } from './record.js';

export type SampleOptions = {
  /** How many records to keep; all of them when n ≥ the number of records. */
  n: number;
  /** Same seed + same records ⇒ same sample. */
  seed: number;
  /** Keep the label mix (shouldRefuse true / false / null) and at least one of each class when n allows. Default true. */
  stratify?: boolean;
};

/** mulberry32: tiny, fast, and good enough for shuffling; not for anything cryptographic. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffledIndices(indices: number[], random: () => number): number[] {
  const a = [...indices];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

/** Largest-remainder shares of n; then every class gets at least one, taken from the biggest share, when n allows. */
function allocate(sizes: readonly number[], n: number): number[] {
  const total = sizes.reduce((s, x) => s + x, 0);
  const exact = sizes.map((s) => (total === 0 ? 0 : (n * s) / total));
  const take = exact.map((e) => Math.floor(e));
  let remaining = n - take.reduce((s, x) => s + x, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((x, y) => y.frac - x.frac || x.i - y.i);
  for (const { i } of order) {
    if (remaining === 0) break;
    take[i] = (take[i] ?? 0) + 1;
    remaining--;
  }
  if (n >= sizes.length) {
    for (let i = 0; i < take.length; i++) {
      if (take[i] !== 0 || sizes[i] === 0) continue;
      const donor = take.reduce((best, t, j) => (t > (take[best] ?? 0) ? j : best), 0);
      take[donor] = (take[donor] ?? 0) - 1;
      take[i] = 1;
    }
  }
  return take;
}

/**
 * A deterministic sample of `n` records, returned in their original order. Stratified by label by
 * default so a 10-prompt smoke run still has prompts to refuse and prompts to answer.
 */
export function sampleInstances(records: readonly BenchmarkRecord[], options: SampleOptions): BenchmarkRecord[] {
  const { n, seed, stratify = true } = options;
  if (!Number.isInteger(n) || n < 0)
    throw new DatasetOptionError(`--num-instances must be a whole number ≥ 0, got ${n}`);
  if (!Number.isFinite(seed)) throw new DatasetOptionError(`--seed must be a number, got ${seed}`);
  if (n >= records.length) return [...records];
  const random = mulberry32(seed);
  const all = records.map((_, i) => i);
  let chosen: number[];
  if (!stratify) {
    chosen = shuffledIndices(all, random).slice(0, n);
  } else {
    const groups = new Map<string, number[]>();
    for (const i of all) {
      const key = String(records[i]?.shouldRefuse);
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    }
    // Fixed class order so the allocation does not depend on which label the file starts with.
    const keys = ['true', 'false', 'null'].filter((k) => groups.has(k));
    const members = keys.map((k) => groups.get(k) ?? []);
    const take = allocate(
      members.map((m) => m.length),
      n,
    );
    chosen = members.flatMap((m, gi) => shuffledIndices(m, random).slice(0, take[gi] ?? 0));
  }
  return chosen.sort((a, b) => a - b).map((i) => records[i] as BenchmarkRecord);
}
