import { createHash } from 'node:crypto';
import type { InstanceRecord } from '@deepconf-safety/run-store';
import { seededRandom } from './stats.js';
import { holmAdjust, newcombeInterval, wilsonInterval } from './stats-proportions.js';
import { mcnemarExact, pairedBootstrapDifference, type PairedOutcome } from './stats-paired.js';
import type { StudyCellData, StudyData } from './study-data.js';

// The numbers of a study report: per benchmark, one row per model x setting (seeds pooled), and paired
// comparisons between rows on the prompts both ran. The unit is the prompt (statistics.md §1); a prompt run
// under several seeds is one cluster, resampled whole.

export interface Estimate {
  value: number | null;
  lower: number | null;
  upper: number | null;
  /** Observations behind the estimate (decisions, compliances, prompts). */
  n: number;
}

export interface StudyRow {
  benchmark: string;
  model: string;
  setting: string;
  seeds: number[];
  /** Distinct prompts over the row's seeds. */
  prompts: number;
  accuracy: Estimate;
  /** Accuracy of the compliances at or above / below each cell's confidence split. */
  confidentCompliance: Estimate;
  uncertainCompliance: Estimate;
  /** confident − uncertain compliance accuracy (Newcombe interval): positive = uncertain compliances are more often wrong. */
  gap: Estimate;
  savings: Estimate;
  tokensPerPrompt: Estimate;
  wallSeconds: number;
  gpuSeconds: number;
  costUsd: number | null;
  emulated: boolean;
  errors: number;
}

export interface StudyComparison {
  kind: 'setting' | 'model';
  a: { model: string; setting: string };
  b: { model: string; setting: string };
  /** (prompt, seed) pairs decided in both rows. */
  pairs: number;
  prompts: number;
  /** Pairs A got right and B wrong / A wrong and B right. */
  onlyA: number;
  onlyB: number;
  difference: number;
  lower: number;
  upper: number;
  pValue: number;
  pHolm: number;
}

export interface StudyTable {
  benchmark: string;
  rows: StudyRow[];
  comparisons: StudyComparison[];
}

export interface StudyWarning {
  kind: 'emulated' | 'identical' | 'prompt_sets' | 'errors' | 'unfinished';
  text: string;
}

export interface StudyAnalysis {
  tables: StudyTable[];
  warnings: StudyWarning[];
  reference: string;
  totals: {
    cells: number;
    done: number;
    tokens: number;
    wallSeconds: number;
    gpuSeconds: number;
    costUsd: number | null;
  };
}

export interface StudyAnalysisOptions {
  seed?: number;
  resamples?: number;
}

const EMPTY: Estimate = { value: null, lower: null, upper: null, n: 0 };

/** Percentile interval of Σnum / Σden over clusters resampled with replacement (seeded). */
function clusterRatio(
  items: readonly { cluster: string; num: number; den: number }[],
  seed: number,
  resamples: number,
): Estimate {
  const byCluster = new Map<string, { num: number; den: number }>();
  for (const it of items) {
    const c = byCluster.get(it.cluster) ?? { num: 0, den: 0 };
    c.num += it.num;
    c.den += it.den;
    byCluster.set(it.cluster, c);
  }
  // In key order, not file order: a resumed cell appends its prompts in another order, and must report the same.
  const clusters = [...byCluster.keys()].sort().map((k) => byCluster.get(k) as { num: number; den: number });
  const totalDen = clusters.reduce((s, c) => s + c.den, 0);
  if (clusters.length === 0 || totalDen === 0) return { ...EMPTY, n: clusters.length };
  const value = clusters.reduce((s, c) => s + c.num, 0) / totalDen;
  const random = seededRandom(seed);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < clusters.length; i++) {
      const c = clusters[Math.floor(random() * clusters.length)] as { num: number; den: number };
      num += c.num;
      den += c.den;
    }
    if (den > 0) stats.push(num / den);
  }
  stats.sort((x, y) => x - y);
  const at = (q: number): number =>
    stats[Math.min(stats.length - 1, Math.max(0, Math.round(q * (stats.length - 1))))] as number;
  return { value, lower: at(0.025), upper: at(0.975), n: clusters.length };
}

function wilson(k: number, n: number): Estimate {
  if (n === 0) return EMPTY;
  const w = wilsonInterval(k, n);
  return { value: k / n, lower: w.lower, upper: w.upper, n };
}

const decided = (cells: readonly StudyCellData[]) =>
  cells.flatMap((c) => c.instances.filter((i) => i.correct !== null).map((i) => ({ seed: c.cell.seed, i, cell: c })));

/** Accuracy: Wilson over prompts with one seed; with several, a bootstrap over prompts (seeds kept together). */
function accuracyOf(cells: readonly StudyCellData[], seed: number, resamples: number): Estimate {
  const d = decided(cells);
  if (cells.length <= 1) return wilson(d.filter((x) => x.i.correct === true).length, d.length);
  const est = clusterRatio(
    d.map((x) => ({ cluster: x.i.instanceId, num: x.i.correct ? 1 : 0, den: 1 })),
    seed,
    resamples,
  );
  return { ...est, n: d.length };
}

function complianceOf(cells: readonly StudyCellData[]): { confident: Estimate; uncertain: Estimate; gap: Estimate } {
  const counts = { confident: { k: 0, n: 0 }, uncertain: { k: 0, n: 0 } };
  for (const c of cells) {
    const split = c.results?.buckets.splitConfidence ?? null;
    if (split === null) continue;
    for (const i of c.instances) {
      if (i.decision !== 'comply' || i.correct === null || i.confidence === null) continue;
      const g = i.confidence >= split ? counts.confident : counts.uncertain;
      g.n++;
      if (i.correct) g.k++;
    }
  }
  const { confident: a, uncertain: b } = counts;
  const d = a.n > 0 && b.n > 0 ? newcombeInterval(a.k, a.n, b.k, b.n) : null;
  return {
    confident: wilson(a.k, a.n),
    uncertain: wilson(b.k, b.n),
    gap:
      d === null ? { ...EMPTY, n: a.n + b.n } : { value: d.difference, lower: d.lower, upper: d.upper, n: a.n + b.n },
  };
}

function rowOf(
  benchmark: string,
  model: string,
  setting: string,
  cells: StudyCellData[],
  o: Required<StudyAnalysisOptions>,
): StudyRow {
  const all = cells.flatMap((c) => c.instances.map((i) => ({ cluster: i.instanceId, i })));
  const saved = clusterRatio(
    all.map((x) => ({ cluster: x.cluster, num: x.i.tokens, den: x.i.baselineTokens })),
    o.seed + 1,
    o.resamples,
  );
  const tokens = clusterRatio(
    all.map((x) => ({ cluster: x.cluster, num: x.i.tokens, den: 1 })),
    o.seed + 2,
    o.resamples,
  );
  const costs = cells.map((c) => c.cell.costUsd);
  return {
    benchmark,
    model,
    setting,
    seeds: cells.map((c) => c.cell.seed),
    prompts: new Set(all.map((x) => x.cluster)).size,
    accuracy: accuracyOf(cells, o.seed, o.resamples),
    ...(({ confident, uncertain, gap }) => ({ confidentCompliance: confident, uncertainCompliance: uncertain, gap }))(
      complianceOf(cells),
    ),
    // Savings = 1 − used / baseline; the interval flips with it.
    savings:
      saved.value === null
        ? saved
        : {
            value: 1 - saved.value,
            lower: 1 - (saved.upper as number),
            upper: 1 - (saved.lower as number),
            n: saved.n,
          },
    tokensPerPrompt: { ...tokens, n: all.length },
    wallSeconds: cells.reduce((s, c) => s + c.cell.wallSeconds, 0),
    gpuSeconds: cells.reduce((s, c) => s + c.cell.gpuSeconds, 0),
    costUsd: costs.every((c) => c === null) ? null : costs.reduce<number>((s, c) => s + (c ?? 0), 0),
    emulated: cells.some((c) => c.emulated),
    errors: cells.reduce((s, c) => s + (c.results?.overall.errors ?? 0), 0),
  };
}

/** Per (prompt, seed) correctness of a row's cells. */
function correctness(cells: readonly StudyCellData[]): Map<string, { prompt: string; correct: boolean }> {
  const m = new Map<string, { prompt: string; correct: boolean }>();
  for (const c of cells)
    for (const i of c.instances)
      if (i.correct !== null)
        m.set(`${i.instanceId}\u0000${c.cell.seed}`, { prompt: i.instanceId, correct: i.correct });
  return m;
}

function compare(
  kind: StudyComparison['kind'],
  a: StudyCellData[],
  b: StudyCellData[],
  seed: number,
  resamples: number,
): Omit<StudyComparison, 'pHolm'> {
  const ca = correctness(a);
  const cb = correctness(b);
  const pairs: PairedOutcome[] = [];
  for (const key of [...ca.keys()].sort()) {
    const x = ca.get(key) as { prompt: string; correct: boolean };
    const y = cb.get(key);
    if (y !== undefined) pairs.push({ a: x.correct, b: y.correct, cluster: x.prompt });
  }
  const onlyA = pairs.filter((p) => p.a && !p.b).length;
  const onlyB = pairs.filter((p) => !p.a && p.b).length;
  const boot = pairedBootstrapDifference(pairs, { seed, resamples });
  const first = a[0]?.cell as StudyCellData['cell'];
  const second = b[0]?.cell as StudyCellData['cell'];
  return {
    kind,
    a: { model: first.model, setting: first.setting },
    b: { model: second.model, setting: second.setting },
    pairs: pairs.length,
    prompts: boot.clusters,
    onlyA,
    onlyB,
    difference: boot.difference,
    lower: boot.lower,
    upper: boot.upper,
    pValue: mcnemarExact(onlyA, onlyB).pValue,
  };
}

/** Settings against the reference within each model; models against the first model within each setting. Holm over the table. */
function comparisonsOf(
  groups: Map<string, StudyCellData[]>,
  models: string[],
  settings: string[],
  reference: string,
  o: Required<StudyAnalysisOptions>,
): StudyComparison[] {
  const key = (m: string, s: string) => `${m}\u0000${s}`;
  const raw: Omit<StudyComparison, 'pHolm'>[] = [];
  const add = (kind: StudyComparison['kind'], a: string, b: string) => {
    const ga = groups.get(a);
    const gb = groups.get(b);
    if (ga && gb && ga.length > 0 && gb.length > 0)
      raw.push(compare(kind, ga, gb, o.seed + raw.length + 7, o.resamples));
  };
  for (const m of models) for (const s of settings) if (s !== reference) add('setting', key(m, s), key(m, reference));
  for (const s of settings) for (const m of models.slice(1)) add('model', key(m, s), key(models[0] as string, s));
  const adjusted = holmAdjust(raw.map((r) => r.pValue));
  return raw.map((r, i) => ({ ...r, pHolm: adjusted[i] as number }));
}

function fingerprint(c: StudyCellData): string {
  const rows = c.instances
    .map((i: InstanceRecord) => `${i.instanceId}:${i.decision}:${i.confidence}:${i.tokens}`)
    .sort();
  return createHash('sha256').update(rows.join('\n')).digest('hex');
}

function warningsOf(data: StudyData): StudyWarning[] {
  const out: StudyWarning[] = [];
  const done = data.cells.filter((c) => c.cell.state === 'done');
  const emulated = data.cells.filter((c) => c.emulated);
  if (emulated.length > 0)
    out.push({
      kind: 'emulated',
      text: `${emulated.length} of ${data.cells.length} cells ran on the built-in emulator: their numbers describe its synthetic models, not real ones.`,
    });
  const byPrint = new Map<string, string[]>();
  for (const c of done) byPrint.set(fingerprint(c), [...(byPrint.get(fingerprint(c)) ?? []), c.cell.id]);
  for (const ids of byPrint.values()) {
    if (ids.length > 1)
      out.push({
        kind: 'identical',
        text: `identical per-prompt results (decisions, confidences, tokens) in ${ids.join(', ')}: the same model under two names, an emulator, or a setting that changed nothing.`,
      });
  }
  const bySample = new Map<string, Map<string, string[]>>();
  for (const c of done) {
    const k = `${c.cell.benchmark}\u0000${c.cell.seed}`;
    const ids = c.instances
      .map((i) => i.instanceId)
      .sort()
      .join('\n');
    const m = bySample.get(k) ?? new Map<string, string[]>();
    m.set(ids, [...(m.get(ids) ?? []), c.cell.id]);
    bySample.set(k, m);
  }
  for (const [k, m] of bySample) {
    if (m.size > 1)
      out.push({
        kind: 'prompt_sets',
        text: `${k.split('\u0000')[0]} seed ${k.split('\u0000')[1]}: cells ran ${m.size} different prompt sets (${[...m.values()].map((ids) => ids.join(', ')).join(' | ')}); paired comparisons use the prompts both ran.`,
      });
  }
  for (const c of data.cells) {
    const errors = c.results?.overall.errors ?? 0;
    if (c.cell.state === 'failed')
      out.push({ kind: 'errors', text: `cell ${c.cell.id} failed: ${c.cell.error ?? 'see its study-cell.log'}` });
    else if (errors > 0)
      out.push({
        kind: 'errors',
        text: `cell ${c.cell.id}: ${errors} prompt(s) with trace errors (npm run experiment -- --output ${c.cell.id} --resume --retry-errors redoes them).`,
      });
  }
  const unfinished = data.cells.filter((c) => c.cell.state !== 'done' && c.cell.state !== 'failed');
  if (unfinished.length > 0)
    out.push({
      kind: 'unfinished',
      text: `${unfinished.length} cell(s) not finished and left out of the tables: ${unfinished.map((c) => c.cell.id).join(', ')}.`,
    });
  return out;
}

export function analyzeStudy(data: StudyData, options: StudyAnalysisOptions = {}): StudyAnalysis {
  const o = { seed: options.seed ?? 0, resamples: options.resamples ?? 10_000 };
  const { grid } = data.study;
  const settings = Object.keys(grid.settings);
  const done = data.cells.filter((c) => c.cell.state === 'done');
  const tables: StudyTable[] = grid.benchmarks.map((benchmark) => {
    const groups = new Map<string, StudyCellData[]>();
    for (const c of done.filter((x) => x.cell.benchmark === benchmark)) {
      const k = `${c.cell.model}\u0000${c.cell.setting}`;
      groups.set(k, [...(groups.get(k) ?? []), c]);
    }
    const rows = grid.models.flatMap((m) =>
      settings.flatMap((s) => {
        const cells = groups.get(`${m}\u0000${s}`);
        return cells ? [rowOf(benchmark, m, s, cells, o)] : [];
      }),
    );
    return { benchmark, rows, comparisons: comparisonsOf(groups, grid.models, settings, grid.reference, o) };
  });
  const costs = data.cells.map((c) => c.cell.costUsd);
  return {
    tables,
    warnings: warningsOf(data),
    reference: grid.reference,
    totals: {
      cells: data.cells.length,
      done: done.length,
      tokens: data.cells.reduce((s, c) => s + (c.cell.tokens ?? 0), 0),
      wallSeconds: data.cells.reduce((s, c) => s + c.cell.wallSeconds, 0),
      gpuSeconds: data.cells.reduce((s, c) => s + c.cell.gpuSeconds, 0),
      costUsd: costs.every((c) => c === null) ? null : costs.reduce<number>((s, c) => s + (c ?? 0), 0),
    },
  };
}
