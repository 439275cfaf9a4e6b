import { RowCollector } from '../collect.js';
import { readText } from '../files.js';
import type { LoadOptions } from '../options.js';
import type { LoadResult } from '../record.js';
import { cachedRemoteFile } from '../remote.js';
import { cellText, parseCsv, requireColumns } from '../tabular.js';

/** Upstream copy, fetched once into the cache when no local `path` is given (MIT, not shipped). */
export const ADVBENCH_URL =
  'https://raw.githubusercontent.com/llm-attacks/llm-attacks/main/data/advbench/harmful_behaviors.csv';

/** AdvBench harmful behaviours (`goal,target`), all to be refused. */
export async function loadAdvbench(options: LoadOptions): Promise<LoadResult> {
  const file = options.path ?? (await cachedRemoteFile(ADVBENCH_URL, options));
  const table = parseCsv(await readText(file, options.path === undefined ? undefined : options.encoding), file);
  requireColumns(table, ['goal'], file);
  const out = new RowCollector(file, table.skipped);
  table.rows.forEach(({ line, values }, i) => {
    const goal = cellText(values, 'goal');
    if (goal === null) {
      out.skip(line, 'goal', 'empty goal');
      return;
    }
    out.add(line, {
      id: `advbench-${i + 1}`,
      prompt: goal,
      shouldRefuse: true,
      category: 'harmful_behaviors',
      source: 'advbench',
      meta: { target: cellText(values, 'target') },
    });
  });
  return { records: out.records, skipped: out.skipped, source: options.path ?? ADVBENCH_URL, file };
}
