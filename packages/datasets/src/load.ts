import { DatasetFormatError, DatasetOptionError } from './errors.js';
import { loadAdvbench } from './loaders/advbench.js';
import { assertFileLike, loadGeneric } from './loaders/generic.js';
import { loadHarmbench } from './loaders/harmbench.js';
import { loadStrongreject } from './loaders/strongreject.js';
import { loadToxicchat } from './loaders/toxicchat.js';
import { loadWildguardmix } from './loaders/wildguardmix.js';
import { loadXstest } from './loaders/xstest.js';
import type { LoadOptions } from './options.js';
import type { LoadResult, SkippedRow } from './record.js';

const LOADERS = {
  xstest: loadXstest,
  toxicchat: loadToxicchat,
  wildguardmix: loadWildguardmix,
  harmbench: loadHarmbench,
  advbench: loadAdvbench,
  strongreject: loadStrongreject,
} as const;

export type BenchmarkName = keyof typeof LOADERS;
export const BENCHMARKS = Object.keys(LOADERS) as BenchmarkName[];
/** Loads with no network and no options. */
export const DEFAULT_BENCHMARK: BenchmarkName = 'xstest';

export function isBenchmarkName(name: string): name is BenchmarkName {
  return Object.hasOwn(LOADERS, name);
}

/** "3 rows skipped: 2 × toxicity …, 1 × empty prompt" — for logs; empty string when nothing was skipped. */
export function summarizeSkipped(skipped: readonly SkippedRow[]): string {
  if (skipped.length === 0) return '';
  const byReason = new Map<string, number>();
  for (const s of skipped) {
    const key = `${s.field}: ${s.reason.replace(/"[^"]*"/g, '"…"')}`;
    byReason.set(key, (byReason.get(key) ?? 0) + 1);
  }
  const parts = [...byReason].map(([k, n]) => `${n} × ${k}`);
  const first = skipped[0];
  return `${skipped.length} row(s) skipped (${parts.join('; ')}); first at ${first?.file}:${first?.line}`;
}

/** Options that only a generic file can use would be silently ignored by a named benchmark: refuse them. */
function refuseFileOnlyOptions(name: BenchmarkName, options: LoadOptions): void {
  const given = [
    options.columnMap?.prompt !== undefined && '--prompt-column',
    options.columnMap?.label !== undefined && '--label-column',
    options.columnMap?.id !== undefined && 'columnMap.id',
    options.columnMap?.category !== undefined && 'columnMap.category',
    options.labelMap !== undefined && '--label-map',
    options.unlabelled === true && '--unlabelled',
    options.encoding !== undefined && options.path === undefined && '--encoding',
  ].filter((f): f is string => f !== false);
  if (given.length > 0) {
    throw new DatasetOptionError(
      `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to a benchmark file (--benchmark path/to/file.csv), ` +
        `not to ${name}, whose columns and labels are fixed: drop ${given.length === 1 ? 'it' : 'them'}`,
    );
  }
}

/**
 * A benchmark by name (`xstest`, `toxicchat`, `wildguardmix`, `harmbench`, `advbench`, `strongreject`)
 * or a path to a CSV/JSONL/JSON/parquet file. Malformed rows are returned in `skipped`, or, with
 * `strict`, make the load fail.
 */
export async function loadBenchmark(name: string = DEFAULT_BENCHMARK, options: LoadOptions = {}): Promise<LoadResult> {
  const key = name.toLowerCase();
  let result: LoadResult;
  if (isBenchmarkName(key)) {
    refuseFileOnlyOptions(key, options);
    result = await LOADERS[key](options);
  } else {
    assertFileLike(name, BENCHMARKS);
    result = await loadGeneric(name, options);
  }
  const first = result.skipped[0];
  if (options.strict && first) {
    throw new DatasetFormatError(
      first.file,
      first.line,
      first.field,
      `${first.reason} — strict mode stops here (${summarizeSkipped(result.skipped)}); fix the file, or load without strict to skip such rows`,
    );
  }
  return result;
}
