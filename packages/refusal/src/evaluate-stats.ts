import type { RefusalLabel } from './detect.js';
import type { BinaryMetrics, Outcome } from './evaluate.js';

/** A percentile bootstrap interval, with what it was computed from so a reader can judge it. */
export type BootstrapInterval = {
  estimate: number;
  low: number;
  high: number;
  level: 0.95;
  n: number;
  replicates: number;
  seed: number;
  /** Every resample gave the same F1 (e.g. no errors at all): the interval has collapsed and says nothing about n. */
  degenerate: boolean;
  /** Rows are resampled with replacement within each stratum (one stratum per source file). */
  method: 'percentile bootstrap over responses, stratified by file';
};

export type BootstrapOptions = { replicates?: number; seed?: number };

export const DEFAULT_BOOTSTRAP = { replicates: 2000, seed: 1 } as const;

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const refused = (l: RefusalLabel): boolean => l !== 'compliance';

/** Binary metrics (refusal = full or partial) from outcomes. */
export function binaryMetrics(outcomes: readonly Outcome[]): BinaryMetrics {
  let tp = 0,
    fp = 0,
    fn = 0,
    tn = 0;
  for (const o of outcomes) {
    const g = refused(o.gold),
      p = refused(o.predicted);
    if (g && p) tp++;
    else if (!g && p) fp++;
    else if (g) fn++;
    else tn++;
  }
  const precision = ratio(tp, tp + fp),
    recall = ratio(tp, tp + fn);
  return {
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
    accuracy: ratio(tp + tn, outcomes.length),
    tp,
    fp,
    fn,
    tn,
  };
}

// mulberry32: small, seedable and the same on every platform, so an interval is reproducible from its seed.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Type-7 quantile (linear interpolation) of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!);
}

/**
 * 95 % percentile-bootstrap interval of refusal F1: responses are resampled with replacement, within each
 * source file so a pooled figure keeps every file's share. Each replicate counts TP/FP/FN from integer
 * codes, so 2000 replicates over 900 rows take a few milliseconds.
 */
export function bootstrapF1(outcomes: readonly Outcome[], options: BootstrapOptions = {}): BootstrapInterval {
  const replicates = options.replicates ?? DEFAULT_BOOTSTRAP.replicates;
  const seed = options.seed ?? DEFAULT_BOOTSTRAP.seed;
  if (!Number.isInteger(replicates) || replicates < 1)
    throw new RangeError(`bootstrapF1: replicates must be a positive integer, got ${replicates}`);
  // 0 = TN, 1 = FN, 2 = FP, 3 = TP
  const strata = new Map<string, number[]>();
  for (const o of outcomes) {
    const code = (refused(o.predicted) ? 2 : 0) + (refused(o.gold) ? 1 : 0);
    const s = strata.get(o.source);
    if (s === undefined) strata.set(o.source, [code]);
    else s.push(code);
  }
  const rand = mulberry32(seed);
  const f1s: number[] = [];
  const groups = [...strata.values()];
  for (let r = 0; r < replicates; r++) {
    let tp = 0,
      fp = 0,
      fn = 0;
    for (const codes of groups) {
      for (let i = 0; i < codes.length; i++) {
        const c = codes[Math.floor(rand() * codes.length)]!;
        if (c === 3) tp++;
        else if (c === 2) fp++;
        else if (c === 1) fn++;
      }
    }
    f1s.push(ratio(2 * tp, 2 * tp + fp + fn));
  }
  f1s.sort((a, b) => a - b);
  return {
    estimate: binaryMetrics(outcomes).f1,
    low: quantile(f1s, 0.025),
    high: quantile(f1s, 0.975),
    level: 0.95,
    degenerate: f1s[0] === f1s[f1s.length - 1],
    n: outcomes.length,
    replicates,
    seed,
    method: 'percentile bootstrap over responses, stratified by file',
  };
}

/** One group of a breakdown (an XSTest `type`, say). F1 is null where neither gold nor prediction has a refusal. */
export type GroupFigures = {
  group: string;
  n: number;
  goldRefusalRate: number;
  predictedRefusalRate: number;
  accuracy: number;
  threeClassAccuracy: number;
  f1: BootstrapInterval | null;
};

/** Figures per value of the group column, sorted by group name; rows without a group go under `(none)`. */
export function breakdownByGroup(outcomes: readonly Outcome[], options: BootstrapOptions = {}): GroupFigures[] {
  const byGroup = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const key = o.group === null || o.group === '' ? '(none)' : o.group;
    const list = byGroup.get(key);
    if (list === undefined) byGroup.set(key, [o]);
    else list.push(o);
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, os]) => {
      const b = binaryMetrics(os);
      const defined = b.tp + b.fp + b.fn > 0;
      return {
        group,
        n: os.length,
        goldRefusalRate: ratio(os.filter((o) => refused(o.gold)).length, os.length),
        predictedRefusalRate: ratio(os.filter((o) => refused(o.predicted)).length, os.length),
        accuracy: b.accuracy,
        threeClassAccuracy: ratio(os.filter((o) => o.gold === o.predicted).length, os.length),
        f1: defined ? bootstrapF1(os, options) : null,
      };
    });
}

const f3 = (x: number): string => x.toFixed(3);

/** One line: "F1 0.951 (95% CI 0.93–0.97, n 900; percentile bootstrap …, 2000 resamples, seed 1)". */
export function formatInterval(ci: BootstrapInterval): string {
  const range = ci.degenerate
    ? 'interval collapsed: every resample gave the same F1'
    : `95% CI ${f3(ci.low)}-${f3(ci.high)}`;
  return `F1 ${f3(ci.estimate)} (${range}, n ${ci.n}; ${ci.method}, ${ci.replicates} resamples, seed ${ci.seed})`;
}

/** Plain-text table of a breakdown. */
export function formatBreakdown(rows: readonly GroupFigures[], column: string): string {
  const width = Math.max(column.length, ...rows.map((r) => r.group.length)) + 2;
  const head = `  ${column.padEnd(width)}${'n'.padStart(5)}${'gold ref'.padStart(10)}${'pred ref'.padStart(10)}${'acc'.padStart(8)}${'3-class'.padStart(9)}  F1 (95% CI)`;
  const lines = rows.map((r) => {
    const ci =
      r.f1 === null ? '' : r.f1.degenerate ? ' (no errors; interval collapses)' : ` (${f3(r.f1.low)}-${f3(r.f1.high)})`;
    const f1 = r.f1 === null ? '-' : `${f3(r.f1.estimate)}${ci}`;
    return `  ${r.group.padEnd(width)}${String(r.n).padStart(5)}${f3(r.goldRefusalRate).padStart(10)}${f3(r.predictedRefusalRate).padStart(10)}${f3(r.accuracy).padStart(8)}${f3(r.threeClassAccuracy).padStart(9)}  ${f1}`;
  });
  return [
    `By ${column} (refusal rates = full or partial; F1 "-" where a group has no refusal in gold or prediction):`,
    head,
    ...lines,
  ].join('\n');
}
