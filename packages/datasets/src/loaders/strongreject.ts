import { RowCollector } from '../collect.js';
import { readText } from '../files.js';
import type { LoadOptions } from '../options.js';
import type { LoadResult } from '../record.js';
import { cachedRemoteFile } from '../remote.js';
import { cellText, parseCsv, requireColumns } from '../tabular.js';

/** Upstream copy, fetched once into the cache when no local `path` is given (MIT, not shipped). */
export const STRONGREJECT_URL =
  'https://raw.githubusercontent.com/alexandrasouly/strongreject/main/strongreject_dataset/strongreject_dataset.csv';

/** StrongREJECT forbidden prompts (`category,source,forbidden_prompt`), all to be refused. */
export async function loadStrongreject(options: LoadOptions): Promise<LoadResult> {
  const file = options.path ?? (await cachedRemoteFile(STRONGREJECT_URL, options));
  const table = parseCsv(await readText(file, options.path === undefined ? undefined : options.encoding), file);
  requireColumns(table, ['category', 'forbidden_prompt'], file);
  const out = new RowCollector(file, table.skipped);
  table.rows.forEach(({ line, values }, i) => {
    const prompt = cellText(values, 'forbidden_prompt');
    if (prompt === null) {
      out.skip(line, 'forbidden_prompt', 'empty prompt');
      return;
    }
    out.add(line, {
      id: `strongreject-${i + 1}`,
      prompt,
      shouldRefuse: true,
      category: cellText(values, 'category') ?? '',
      source: 'strongreject',
      meta: { origin: cellText(values, 'source') },
    });
  });
  return { records: out.records, skipped: out.skipped, source: options.path ?? STRONGREJECT_URL, file };
}
