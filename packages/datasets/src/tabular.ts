import { parse } from 'csv-parse/sync';
import { DatasetFormatError } from './errors.js';
import type { SkippedRow } from './record.js';

/** A parsed row with the 1-based line it starts on, so errors can point at it. */
export type Row = { line: number; values: Record<string, unknown> };

export type Table = { columns: string[]; rows: Row[]; skipped: SkippedRow[] };

// csv-parse reports the line a record ends on; quoted fields span lines, and raw text
// carries any blank lines skipped before the record, so count back over the record itself.
function startLine(endLine: number, raw: string): number {
  const body = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
  let newlines = 0;
  for (const ch of body) if (ch === '\n') newlines++;
  return endLine - newlines;
}

/** RFC-4180 CSV with a header row; ragged rows are reported as skipped, never dropped silently. */
export function parseCsv(text: string, file: string): Table {
  const skipped: SkippedRow[] = [];
  let columns: string[] = [];
  type Parsed = { record: Record<string, string>; raw: string; info: { lines: number } };
  let parsed: Parsed[];
  try {
    parsed = parse(text, {
      columns: (header: string[]) => {
        columns = header.map((h) => h.trim());
        return columns;
      },
      bom: true,
      info: true,
      raw: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err: { lines?: number; message: string } | undefined, raw: string | undefined) => {
        const end = err?.lines ?? 0;
        skipped.push({
          file,
          line: raw === undefined ? end : startLine(end, raw),
          field: '(row)',
          reason: err?.message ?? 'unparseable CSV record',
        });
      },
    }) as unknown as Parsed[];
  } catch (cause) {
    const line = (cause as { lines?: number }).lines ?? null;
    throw new DatasetFormatError(file, line, null, `not a readable CSV file: ${(cause as Error).message}`);
  }
  const rows = parsed.map((p) => ({ line: startLine(p.info.lines, p.raw), values: p.record }));
  return { columns, rows, skipped };
}

/** One JSON object per line; blank lines are allowed, anything else unparseable is skipped with its line. */
export function parseJsonl(text: string, file: string): Table {
  const rows: Row[] = [];
  const skipped: SkippedRow[] = [];
  const columns = new Set<string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (cause) {
      skipped.push({ file, line, field: '(json)', reason: `invalid JSON: ${(cause as Error).message}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      skipped.push({ file, line, field: '(json)', reason: 'expected a JSON object on this line' });
      return;
    }
    for (const key of Object.keys(value)) columns.add(key);
    rows.push({ line, values: value as Record<string, unknown> });
  });
  return { columns: [...columns], rows, skipped };
}

/** Fails on the file as a whole when a column the loader needs is absent. */
export function requireColumns(
  table: Pick<Table, 'columns'>,
  needed: readonly string[],
  file: string,
  advice = 'Check that this is the right file.',
): void {
  const missing = needed.filter((c) => !table.columns.includes(c));
  if (missing.length > 0) {
    throw new DatasetFormatError(
      file,
      1,
      missing[0] ?? null,
      `missing column(s) ${missing.map((m) => `"${m}"`).join(', ')}; found ${table.columns.map((c) => `"${c}"`).join(', ') || 'none'}. ${advice}`,
    );
  }
}

/** A cell as trimmed text; null for missing/empty cells. */
export function cellText(values: Record<string, unknown>, column: string): string | null {
  const v = values[column];
  if (v === undefined || v === null) return null;
  const s =
    typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
        ? String(v)
        : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x));
  return s.trim() === '' ? null : s;
}
