import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import { DatasetFormatError } from './errors.js';
import type { Table } from './tabular.js';

/** Top-level column names from a parquet footer (only the footer is read). */
export async function parquetColumns(buffer: AsyncBuffer): Promise<string[]> {
  const meta = await parquetMetadataAsync(buffer);
  const root = meta.schema[0];
  const names: string[] = [];
  // Flattened schema: walk the root's direct children, skipping nested descendants.
  let i = 1;
  for (let child = 0; child < (root?.num_children ?? 0) && i < meta.schema.length; child++) {
    const el = meta.schema[i];
    if (!el) break;
    names.push(el.name);
    let pending = el.num_children ?? 0;
    i++;
    while (pending > 0 && i < meta.schema.length) {
      pending += (meta.schema[i]?.num_children ?? 0) - 1;
      i++;
    }
  }
  return names;
}

/** Whole parquet file as rows; `line` is the 1-based row number. */
export async function readParquet(file: string): Promise<Table> {
  try {
    const buffer = await asyncBufferFromFile(file);
    const columns = await parquetColumns(buffer);
    const objects = await parquetReadObjects({ file: buffer });
    return { columns, rows: objects.map((values, i) => ({ line: i + 1, values })), skipped: [] };
  } catch (cause) {
    if (cause instanceof DatasetFormatError) throw cause;
    throw new DatasetFormatError(file, null, null, `not a readable parquet file: ${(cause as Error).message}`);
  }
}
