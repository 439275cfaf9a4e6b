import { RowCollector } from '../collect.js';
import { readText, shippedFile } from '../files.js';
import type { LoadOptions } from '../options.js';
import type { LoadResult } from '../record.js';
import { cellText, parseCsv, requireColumns } from '../tabular.js';

/** XSTest prompts: `label` safe/unsafe, unsafe types are the `contrast_*` ones; the two must agree. */
export async function loadXstest(options: LoadOptions): Promise<LoadResult> {
  const file = options.path ?? shippedFile('xstest/xstest_prompts.csv');
  const table = parseCsv(await readText(file, options.path === undefined ? undefined : options.encoding), file);
  requireColumns(table, ['prompt', 'type'], file);
  const idColumn = table.columns.includes('id') ? 'id' : table.columns.includes('id_v2') ? 'id_v2' : null;
  if (idColumn === null) requireColumns(table, ['id'], file);
  const out = new RowCollector(file, table.skipped);
  for (const { line, values } of table.rows) {
    const id = cellText(values, idColumn ?? 'id');
    const prompt = cellText(values, 'prompt');
    const type = cellText(values, 'type');
    if (id === null) {
      out.skip(line, idColumn ?? 'id', 'empty id');
      continue;
    }
    if (prompt === null) {
      out.skip(line, 'prompt', 'empty prompt');
      continue;
    }
    if (type === null) {
      out.skip(line, 'type', 'empty type');
      continue;
    }
    const unsafeByType = type.startsWith('contrast_');
    const label = cellText(values, 'label');
    if (label !== null && label !== 'safe' && label !== 'unsafe') {
      out.skip(line, 'label', `label "${label}" is neither "safe" nor "unsafe"`);
      continue;
    }
    if (label !== null && (label === 'unsafe') !== unsafeByType) {
      out.skip(line, 'label', `label "${label}" contradicts type "${type}" (unsafe types start with "contrast_")`);
      continue;
    }
    out.add(line, {
      id: `xstest-${id}`,
      prompt,
      shouldRefuse: unsafeByType,
      category: type,
      source: 'xstest',
      meta: {
        xstestId: id,
        type,
        label: label ?? (unsafeByType ? 'unsafe' : 'safe'),
        focus: cellText(values, 'focus'),
        note: cellText(values, 'note'),
      },
    });
  }
  return { records: out.records, skipped: out.skipped, source: file, file };
}
