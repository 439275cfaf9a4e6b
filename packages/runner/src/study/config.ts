import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FlagValueSchema, type FlagValue } from '@deepconf-safety/run-store';
import { StudyConfigError } from './errors.js';

// A study file: models x benchmarks x settings x seeds, with shared options. Settings are named sets of
// ordinary experiment flags, so a study can vary anything `npm run experiment` can.

const FLAG = /^[a-z][a-z0-9-]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const OptionSet = z.record(
  z.string().regex(FLAG, 'flag names are kebab-case experiment flags, e.g. "keep-percent"'),
  FlagValueSchema,
);
const Url = z.url({ protocol: /^https?$/ });

export const StudyConfigSchema = z.strictObject({
  name: z.string().regex(NAME, 'must be letters, digits, ".", "_" or "-"').optional(),
  description: z.string().optional(),
  /** Study directory (default results/study_<name>). */
  output: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).min(1),
  benchmarks: z.array(z.string().min(1)).min(1),
  settings: z.record(z.string().regex(NAME, 'setting names are letters, digits, ".", "_" or "-"'), OptionSet),
  seeds: z.array(z.number().int().nonnegative()).min(1),
  /** Flags every cell gets (a setting's own value wins). */
  options: OptionSet.default({}),
  /** Base URLs asked for every model, or per model; default: the Lambda deployment, else an emulator. */
  endpoints: z.union([z.array(Url).min(1), z.record(z.string(), z.array(Url).min(1))]).optional(),
  /** Cells one endpoint runs at once (default 1: one cell already keeps a GPU's batch full). */
  cellsPerEndpoint: z.number().int().min(1).max(64).optional(),
  /** The setting the others are compared with (default: the first with "early-stop": false, else the first). */
  reference: z.string().optional(),
});
export type StudyConfig = z.infer<typeof StudyConfigSchema>;

/** Flags the grid sets itself, or that belong to the study rather than to a cell. */
const GRID_FLAGS = new Set([
  'model',
  'benchmark',
  'seed',
  'output',
  'base-url',
  'resume',
  'retry-errors',
  'config',
  'report',
  'help',
  'version',
]);

function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Checks the parsed study file beyond its shape: duplicates, reserved flags, the reference setting. */
function checkGrid(c: StudyConfig, file: string): void {
  const fail = (key: string, detail: string): never => {
    throw new StudyConfigError(file, key, detail);
  };
  for (const key of ['models', 'benchmarks', 'seeds'] as const) {
    const values = c[key] as readonly unknown[];
    if (new Set(values).size !== values.length) fail(key, 'lists a value twice');
  }
  const names = Object.keys(c.settings);
  if (names.length === 0)
    fail('settings', 'needs at least one named setting, e.g. {"baseline": {"early-stop": false}}');
  const sets: [string, Record<string, FlagValue>][] = [
    ['options', c.options],
    ...names.map((n): [string, Record<string, FlagValue>] => [`settings.${n}`, c.settings[n] ?? {}]),
  ];
  for (const [where, set] of sets) {
    for (const flag of Object.keys(set)) {
      if (GRID_FLAGS.has(flag))
        fail(
          `${where}.${flag}`,
          'is set by the study itself (models, benchmarks, seeds, output, endpoints); remove it',
        );
    }
  }
  if (c.reference !== undefined && !names.includes(c.reference))
    fail('reference', `"${c.reference}" is not one of the settings (${names.join(', ')})`);
  if (c.endpoints !== undefined && !Array.isArray(c.endpoints)) {
    for (const model of Object.keys(c.endpoints))
      if (!c.models.includes(model)) fail(`endpoints.${model}`, "is not one of the study's models");
  }
}

/** Parses a study file's JSON text; throws StudyConfigError naming the file and the key. */
export function parseStudyConfig(text: string, file: string): StudyConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new StudyConfigError(file, '(file)', `is not valid JSON (${(e as Error).message})`);
  }
  const parsed = StudyConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StudyConfigError(file, issuePath(issue?.path ?? []), issue?.message ?? 'is invalid');
  }
  checkGrid(parsed.data, file);
  return parsed.data;
}

export function readStudyConfig(file: string): StudyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new StudyConfigError(
      file,
      '(file)',
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseStudyConfig(text, file);
}

/** The reference setting: as given, else the first that runs without early stopping, else the first. */
export function referenceSetting(c: StudyConfig): string {
  const names = Object.keys(c.settings);
  return c.reference ?? names.find((n) => c.settings[n]?.['early-stop'] === false) ?? (names[0] as string);
}

/** One cell of the grid. */
export interface GridCell {
  readonly id: string;
  readonly model: string;
  readonly benchmark: string;
  readonly setting: string;
  readonly seed: number;
}

/** A path segment from a model or benchmark name ("Qwen/Qwen3-4B" → "Qwen_Qwen3-4B", "data/x.csv" → "x"). */
export function pathSegment(name: string, kind: 'model' | 'benchmark'): string {
  const parts = name.split(/[\\/]/).filter(Boolean);
  const raw =
    kind === 'benchmark' ? (parts[parts.length - 1] ?? name).replace(/\.(csv|jsonl?|parquet)$/i, '') : parts.join('_');
  return raw.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || '_';
}

/** Every cell, models outermost, seeds innermost (the order cells are launched in). */
export function expandGrid(c: StudyConfig, file: string): GridCell[] {
  const cells: GridCell[] = [];
  for (const model of c.models) {
    for (const benchmark of c.benchmarks) {
      for (const setting of Object.keys(c.settings)) {
        for (const seed of c.seeds) {
          const id = `${pathSegment(model, 'model')}/${pathSegment(benchmark, 'benchmark')}/${setting}/seed-${seed}`;
          cells.push({ id, model, benchmark, setting, seed });
        }
      }
    }
  }
  if (new Set(cells.map((x) => x.id)).size !== cells.length) {
    throw new StudyConfigError(
      file,
      'models',
      'has two models (or benchmarks) that map to the same directory name; rename one',
    );
  }
  return cells;
}

function flagArgs(flags: Readonly<Record<string, FlagValue>>): string[] {
  return Object.entries(flags).flatMap(([k, v]) =>
    v === true ? [`--${k}`] : v === false ? [`--no-${k}`] : [`--${k}`, String(v)],
  );
}

/** The experiment flags of a cell: shared options, then the setting's (which win), then the grid's own. */
export function cellArgv(c: StudyConfig, cell: GridCell): string[] {
  const flags = { ...c.options, ...(c.settings[cell.setting] ?? {}) };
  return [...flagArgs(flags), '--model', cell.model, '--benchmark', cell.benchmark, '--seed', String(cell.seed)];
}
