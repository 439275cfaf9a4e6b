import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Non-finite numbers are stored as strings in the reference JSON. */
function decode(value: unknown): unknown {
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (value === 'NaN') return NaN;
  if (Array.isArray(value)) return value.map(decode);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

function load(url: URL): unknown {
  return decode(JSON.parse(readFileSync(fileURLToPath(url), 'utf8')));
}

export interface DevWindowCase {
  window: number;
  group_confs_count: number;
  group_confs_first: number[];
  group_confs_last: number[];
  /** null for long traces: then only the first and last five are stored. */
  group_confs_full: number[] | null;
  lowest_group_conf_min_conf: number;
  bottom10_window_conf: number;
  min_window_conf_unrounded: number;
  tail_conf_2048: number;
  tail_conf_window: number;
  mean_conf: number;
}

export interface DevTraceCase {
  id: string;
  inputs: { window: number; k: number; token_logprobs: number[][] };
  outputs: { token_confs_full: number[]; window_case: DevWindowCase; window_default_2048: DevWindowCase };
}

export interface ReferenceDev {
  trace_cases: DevTraceCase[];
  threshold_case: {
    warmup_min_confs: number[];
    main_branch: Record<
      'deepconf_low_eta10' | 'deepconf_high_eta90',
      { confidence_percentile_arg: number; conf_bar: number }
    >;
  };
}

export interface ExtraTraceCase {
  id: string;
  note: string;
  inputs: { window: number; token_logprobs: number[][] };
  outputs: {
    token_confs_full: number[];
    token_confs_unrounded: number[];
    group_confs_full: number[];
    lowest_group_conf_min_conf: number;
    min_window_conf_unrounded: number;
    bottom_window_conf: Record<string, number>;
    tail_conf_window: number;
    tail_conf_2048: number;
    mean_conf: number;
  };
}

export interface OfficialExtra {
  trace_cases: ExtraTraceCase[];
  percentile_cases: { values: number[]; keep_percent: number[]; threshold: number[]; filter_kept: number[][] }[];
  vote_cases: { answers: (string | null)[]; weights: number[]; answer: string | null }[];
  rounding_probe: { x: number; numpy_round3: number }[];
  token_means: { logprobs: number[]; neg_np_mean: number; official_round3: number }[];
}

// Copied into the project from shared/fixtures (see test-fixtures/README.md).
export const referenceDev = load(
  new URL('../../../test-fixtures/deepconf/reference-dev.json', import.meta.url),
) as ReferenceDev;

// Values computed once by the official DeepConf code (main @ 675529d1) on generated inputs; see README.
export const officialExtra = load(new URL('./fixtures/official-extra.json', import.meta.url)) as OfficialExtra;

/** Equal for non-finite values (NaN matches NaN), within `tolerance` otherwise. */
export function closeTo(actual: number, expected: number, tolerance: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tolerance;
}

/** Indices where `actual` and `expected` disagree, for readable failures. */
export function mismatches(actual: readonly number[], expected: readonly number[], tolerance: number): string[] {
  const out: string[] = [];
  if (actual.length !== expected.length) out.push(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
    if (!closeTo(actual[i] as number, expected[i] as number, tolerance))
      out.push(`[${i}] ${actual[i]} vs ${expected[i]}`);
  }
  return out.slice(0, 5);
}
