import { basename, extname } from 'node:path';
import { RowCollector } from '../collect.js';
import { DatasetFormatError, DatasetNotFoundError } from '../errors.js';
import { readText } from '../files.js';
import type { ColumnMap, LoadOptions } from '../options.js';
import { readParquet } from '../parquet.js';
import type { LoadResult } from '../record.js';
import { cellText, parseCsv, parseJsonl, requireColumns, type Table } from '../tabular.js';
import { parseJudgeBench } from './toxicchat.js';

/** Label vocabulary shared by the common safety datasets; lower-cased before lookup. */
export const DEFAULT_LABELS: Readonly<Record<string, boolean>> = {
  true: true, '1': true, yes: true, unsafe: true, harmful: true, toxic: true, refuse: true, refusal: true,
  false: false, '0': false, no: false, safe: false, unharmful: false, benign: false, comply: false, compliance: false,
};

const PROMPT_GUESSES = ['prompt', 'forbidden_prompt', 'goal', 'Behavior', 'user_input', 'instruction', 'question', 'text'];
const LABEL_GUESSES = ['should_refuse', 'shouldRefuse', 'label', 'prompt_harm_label', 'toxicity'];
const CATEGORY_GUESSES = ['category', 'type', 'subcategory', 'SemanticCategory'];

function pick(columns: readonly string[], guesses: readonly string[]): string | undefined {
  return guesses.find((g) => columns.includes(g));
}

async function readTable(file: string): Promise<Table | LoadResult> {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet') return readParquet(file);
  const text = await readText(file);
  if (ext === '.jsonl' || ext === '.ndjson') return parseJsonl(text, file);
  if (ext === '.json') {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('[')) {
      // A JSON array of objects is JSONL in disguise; re-serialise one object per line for line numbers.
      let arr: unknown;
      try {
        arr = JSON.parse(text);
      } catch (cause) {
        throw new DatasetFormatError(file, null, null, `not valid JSON: ${(cause as Error).message}`);
      }
      return parseJsonl((arr as unknown[]).map((x) => JSON.stringify(x)).join('\n'), file);
    }
    return parseJudgeBench(text, file);
  }
  if (ext === '.csv' || ext === '.txt' || ext === '') return parseCsv(text, file);
  throw new DatasetFormatError(file, null, null, `unknown file type "${ext}": use .csv, .jsonl, .json or .parquet`);
}

/** Any CSV/JSONL/JSON/parquet file, mapped with `columnMap` (or the usual column names). */
export async function loadGeneric(file: string, options: LoadOptions): Promise<LoadResult> {
  const table = await readTable(file);
  if ('records' in table) return table;
  const map: ColumnMap = options.columnMap ?? {};
  const prompt = map.prompt ?? pick(table.columns, PROMPT_GUESSES);
  if (prompt === undefined) {
    throw new DatasetFormatError(
      file, 1, 'prompt',
      `no prompt column found among ${table.columns.map((c) => `"${c}"`).join(', ') || 'no columns'}; pass a column mapping, e.g. columnMap: { prompt: "<column>" } (CLI: --prompt-column)`,
    );
  }
  const id = map.id ?? (table.columns.includes('id') ? 'id' : undefined);
  const label = map.label ?? pick(table.columns, LABEL_GUESSES);
  const category = map.category ?? pick(table.columns, CATEGORY_GUESSES);
  requireColumns(table, [prompt, ...[id, label, category].filter((c): c is string => c !== undefined)], file);
  const vocabulary = new Map<string, boolean | null>(Object.entries(DEFAULT_LABELS));
  for (const [k, v] of Object.entries(options.labelMap ?? {})) vocabulary.set(k.toLowerCase(), v);
  const name = basename(file);
  const out = new RowCollector(file, table.skipped);
  table.rows.forEach(({ line, values }, i) => {
    const text = cellText(values, prompt);
    if (text === null) return out.skip(line, prompt, 'empty prompt');
    let shouldRefuse: boolean | null = null;
    if (label !== undefined) {
      const raw = cellText(values, label);
      if (raw !== null) {
        const mapped = vocabulary.get(raw.trim().toLowerCase());
        if (mapped === undefined) {
          return out.skip(line, label, `label "${raw}" is not one of ${[...vocabulary.keys()].join(', ')}; add it with a label map`);
        }
        shouldRefuse = mapped;
      }
    }
    const rowId = id === undefined ? String(i + 1) : cellText(values, id);
    if (rowId === null) return out.skip(line, id ?? 'id', 'empty id');
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) {
      if (k !== prompt) meta[k] = typeof v === 'bigint' ? Number(v) : v;
    }
    out.add(line, {
      id: `${name}-${rowId}`,
      prompt: text,
      shouldRefuse,
      category: category === undefined ? '' : (cellText(values, category) ?? ''),
      source: name,
      meta,
    });
  });
  return { records: out.records, skipped: out.skipped, source: file };
}

export function assertFileLike(name: string, known: readonly string[]): void {
  if (!/[\\/.]/.test(name)) {
    throw new DatasetNotFoundError(`unknown benchmark "${name}": use one of ${known.join(', ')}, or a path to a .csv/.jsonl/.json/.parquet file`);
  }
}
