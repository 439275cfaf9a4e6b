import { RowCollector } from '../collect.js';
import { DatasetNotFoundError } from '../errors.js';
import { readText, shippedFile } from '../files.js';
import type { LoadOptions } from '../options.js';
import type { LoadResult } from '../record.js';
import { cellText, parseCsv, requireColumns } from '../tabular.js';

const SPLITS = ['all', 'test', 'val'] as const;

/** HarmBench text behaviours (all harmful); contextual ones are sent with their context as HarmBench does. */
export async function loadHarmbench(options: LoadOptions): Promise<LoadResult> {
  const split = options.split ?? 'all';
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new DatasetNotFoundError(`HarmBench has no split "${split}": use one of ${SPLITS.join(', ')}`);
  }
  const file = options.path ?? shippedFile(`harmbench/harmbench_behaviors_text_${split}.csv`);
  const table = parseCsv(await readText(file, options.path === undefined ? undefined : options.encoding), file);
  requireColumns(table, ['Behavior', 'FunctionalCategory', 'SemanticCategory', 'BehaviorID'], file);
  const out = new RowCollector(file, table.skipped);
  for (const { line, values } of table.rows) {
    const behavior = cellText(values, 'Behavior');
    const id = cellText(values, 'BehaviorID');
    const functional = cellText(values, 'FunctionalCategory');
    const context = cellText(values, 'ContextString');
    if (behavior === null) {
      out.skip(line, 'Behavior', 'empty behavior');
      continue;
    }
    if (id === null) {
      out.skip(line, 'BehaviorID', 'empty id');
      continue;
    }
    if (functional === 'contextual' && context === null) {
      out.skip(line, 'ContextString', 'contextual behavior without a context string');
      continue;
    }
    // Same framing as HarmBench's direct_request baseline.
    const prompt = context === null ? behavior : `${context}\n\n---\n\n${behavior}`;
    out.add(line, {
      id: `harmbench-${id}`,
      prompt,
      shouldRefuse: true,
      category: cellText(values, 'SemanticCategory') ?? '',
      source: 'harmbench',
      meta: {
        behaviorId: id,
        behavior,
        functionalCategory: functional,
        tags: cellText(values, 'Tags'),
        contextString: context,
      },
    });
  }
  return { records: out.records, skipped: out.skipped, source: file, file };
}
