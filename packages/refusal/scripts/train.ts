// Fits the learned component of the refusal detector: an L2-regularised logistic regression over FEATURE_NAMES,
// by Newton's method (deterministic: no sampling, no seed needed; the bootstrap that reports it is seeded).
//   npm run train:refusal                         train on both XSTest files, write src/learned-weights.ts
//   npm run train:refusal -- --holdout            cross-model: train on one file, test on the other, both ways
//   npm run train:refusal -- --train a.csv --test b.csv [--lambda 1] [--drop rule_refused,rule_score] [--no-write]
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseResponse, ruleVerdict } from '../src/detect.js';
import type { RefusalLabel } from '../src/detect.js';
import { bootstrapF1, formatInterval } from '../src/evaluate-stats.js';
import { parseLabelledCsv } from '../src/evaluate.js';
import type { Outcome } from '../src/evaluate.js';
import { FEATURE_NAMES, extractFeatures } from '../src/features.js';
import { combineWithLearned } from '../src/learned.js';
import type { LearnedModel } from '../src/learned.js';
import { splitThinking } from '../src/text.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(here, '../data/xstest-completions');
const DEFAULT_FILES = ['xstest_v2_completions_gpt4.csv', 'xstest_v2_completions_llama2orig.csv'].map((f) =>
  resolve(DATA, f),
);
const OUT = resolve(here, '../src/learned-weights.ts');

type Example = { source: string; id: string; gold: RefusalLabel; prompt: string | undefined; completion: string };

function load(files: readonly string[]): Example[] {
  return files.flatMap((f) =>
    parseLabelledCsv(readFileSync(f, 'utf8'), basename(f)).map((r) => ({
      source: basename(f),
      id: r.id,
      gold: r.gold,
      prompt: r.prompt ?? undefined,
      completion: r.completion,
    })),
  );
}

function prepare(e: Example) {
  const a = analyseResponse(splitThinking(e.completion).answer);
  return { a, rules: ruleVerdict(a, e.prompt) };
}

/** Solve A x = b (A symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

/** Newton's method for L2-penalised logistic regression; the bias (last column) is not penalised. */
function fitLogistic(X: Float64Array[], y: number[], lambda: number): { weights: number[]; bias: number } {
  const d = X[0]!.length + 1;
  let w = new Array<number>(d).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const g = new Array<number>(d).fill(0);
    const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    X.forEach((xr, i) => {
      const x = [...xr, 1];
      const p = 1 / (1 + Math.exp(-x.reduce((s, v, k) => s + v * w[k]!, 0)));
      for (let j = 0; j < d; j++) {
        g[j]! += (p - y[i]!) * x[j]!;
        for (let k = 0; k < d; k++) H[j]![k]! += p * (1 - p) * x[j]! * x[k]!;
      }
    });
    for (let j = 0; j < d - 1; j++) {
      g[j]! += lambda * w[j]!;
      H[j]![j]! += lambda;
    }
    const step = solve(H, g);
    w = w.map((v, k) => v - step[k]!);
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return { weights: w.slice(0, d - 1), bias: w[d - 1]! };
}

function train(examples: readonly Example[], lambda: number, files: readonly string[]): LearnedModel {
  const prepared = examples.map(prepare);
  const engaged = examples.filter((e) => e.prompt !== undefined);
  // Means over the training rows stand in for the prompt features when a caller has no prompt.
  const withPrompt = prepared.map((p, i) =>
    extractFeatures(p.a, p.rules, examples[i]!.prompt, { coverage: 0, actionEcho: 0 }),
  );
  const idx = (name: string): number => FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number]);
  const mean = (k: number): number =>
    engaged.length === 0 ? 0.5 : withPrompt.reduce((s, x) => s + x[k]!, 0) / withPrompt.length;
  const impute = { coverage: round(mean(idx('coverage'))), actionEcho: round(mean(idx('action_echo'))) };
  // --drop f1,f2 trains without those features (their weights come out 0), for ablations of the feature set.
  const drop = (arg('--drop')[0] ?? '')
    .split(',')
    .filter((f) => f !== '')
    .map(idx);
  for (const x of withPrompt) for (const k of drop) x[k] = 0;
  const { weights, bias } = fitLogistic(
    withPrompt,
    examples.map((e) => (e.gold === 'compliance' ? 0 : 1)),
    lambda,
  );
  return {
    features: [...FEATURE_NAMES],
    weights: weights.map(round),
    bias: round(bias),
    impute,
    provenance: {
      trainedOn: files.map((f) => basename(f)),
      rows: examples.length,
      lambda,
      method: 'L2 logistic regression, Newton',
    },
  };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

function score(examples: readonly Example[], model: LearnedModel | null): Outcome[] {
  return examples.map((e) => {
    const { a, rules } = prepare(e);
    const v = model === null ? rules : combineWithLearned(rules, a, e.prompt, [], model);
    return { source: e.source, id: e.id, gold: e.gold, predicted: v.label, group: null };
  });
}

function report(name: string, test: readonly Example[], model: LearnedModel): void {
  console.log(`  ${name}`);
  console.log(`    rules only     ${formatInterval(bootstrapF1(score(test, null)))}`);
  console.log(`    rules+learned  ${formatInterval(bootstrapF1(score(test, model)))}`);
}

function arg(name: string): string[] {
  const out: string[] = [];
  const argv = process.argv.slice(2);
  argv.forEach((a, i) => {
    if (a === name) for (let j = i + 1; j < argv.length && !argv[j]!.startsWith('--'); j++) out.push(argv[j]!);
  });
  return out;
}

const lambda = Number(arg('--lambda')[0] ?? 1);
if (!(lambda >= 0)) {
  console.error(`train: --lambda must be a non-negative number, got ${arg('--lambda')[0]}`);
  process.exit(2);
}
if (process.argv.includes('--holdout')) {
  console.log('Cross-model holdout (train on one file, test on the other):');
  for (const [tr, te] of [
    [DEFAULT_FILES[0]!, DEFAULT_FILES[1]!],
    [DEFAULT_FILES[1]!, DEFAULT_FILES[0]!],
  ] as const) {
    report(`train ${basename(tr)} -> test ${basename(te)}`, load([te]), train(load([tr]), lambda, [tr]));
  }
} else {
  const trainFiles = arg('--train').length > 0 ? arg('--train') : DEFAULT_FILES;
  const model = train(load(trainFiles), lambda, trainFiles);
  if (process.argv.includes('--print-json')) {
    console.log(JSON.stringify(model));
    process.exit(0);
  }
  console.log(
    'weights:',
    Object.fromEntries(FEATURE_NAMES.map((f, i) => [f, model.weights[i]])),
    'bias',
    model.bias,
    'impute',
    model.impute,
  );
  report('in-sample (training files)', load(trainFiles), model);
  if (arg('--test').length > 0) report('test files', load(arg('--test')), model);
  if (!process.argv.includes('--no-write')) {
    const { provenance, ...rest } = model;
    const body = JSON.stringify({ ...rest, provenance }, null, 2);
    writeFileSync(
      OUT,
      `// Generated by packages/refusal/scripts/train.ts; do not edit by hand.\nimport type { LearnedModel } from './learned.js';\n\nexport const LEARNED_MODEL: LearnedModel = ${body};\n`,
    );
    console.log(`wrote ${OUT}`);
  }
}
