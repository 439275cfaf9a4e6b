import { basename, extname } from 'node:path';
import { RowCollector } from '../collect.js';
import { DatasetFormatError, DatasetNotFoundError, DatasetOptionError } from '../errors.js';
import { readText } from '../files.js';
import type { ColumnMap, LoadOptions } from '../options.js';
import { readParquet } from '../parquet.js';
import type { LoadResult } from '../record.js';
import { cellText, parseCsv, parseJsonl, requireColumns, type Table } from '../tabular.js';
import { parseJudgeBench } from './toxicchat.js';

/** Label vocabulary shared by the common safety datasets; lower-cased before lookup. */
export const DEFAULT_LABELS: Readonly<Record<string, boolean>> = {
  true: true,
  '1': true,
  yes: true,
  unsafe: true,
  harmful: true,
  toxic: true,
  refuse: true,
  refusal: true,
  false: false,
  '0': false,
  no: false,
  safe: false,
  unharmful: false,
  benign: false,
  comply: false,
  compliance: false,
};

const PROMPT_GUESSES = [
  'prompt',
  'forbidden_prompt',
  'goal',
  'Behavior',
  'user_input',
  'instruction',
  'question',
  'text',
];
const LABEL_GUESSES = ['should_refuse', 'shouldRefuse', 'label', 'prompt_harm_label', 'toxicity'];
const CATEGORY_GUESSES = ['category', 'type', 'subcategory', 'SemanticCategory'];

function pick(columns: readonly string[], guesses: readonly string[]): string | undefined {
  return guesses.find((g) => columns.includes(g));
}

async function readTable(file: string, encoding: string | undefined): Promise<Table | LoadResult> {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet') return readParquet(file);
  const text = await readText(file, encoding);
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

const quoted = (columns: readonly string[]): string => columns.map((c) => `"${c}"`).join(', ') || 'no columns';

/** The label column, or undefined for a file the user said is unlabelled; refuses a file with no labels otherwise. */
function labelColumn(table: Table, file: string, options: LoadOptions): string | undefined {
  const explicit = options.columnMap?.label;
  if (options.unlabelled) {
    if (explicit !== undefined) {
      throw new DatasetOptionError(`--unlabelled and --label-column ${explicit} contradict each other: drop one`);
    }
    return undefined;
  }
  const label = explicit ?? pick(table.columns, LABEL_GUESSES);
  if (label === undefined) {
    throw new DatasetFormatError(
      file,
      1,
      'label',
      `no label column found among ${quoted(table.columns)}: name it with --label-column <column> ` +
        '(values such as 1/0 or unsafe/safe; others with --label-map refuse=1,comply=0), ' +
        'or pass --unlabelled to run without labels (reports then give no accuracy)',
    );
  }
  return label;
}

/** Label vocabulary: the shared defaults, then the caller's map (which wins). */
function vocabularyOf(options: LoadOptions): Map<string, boolean | null> {
  const vocabulary = new Map<string, boolean | null>(Object.entries(DEFAULT_LABELS));
  for (const [k, v] of Object.entries(options.labelMap ?? {})) vocabulary.set(k.toLowerCase(), v);
  return vocabulary;
}

/** Any CSV/JSONL/JSON/parquet file, mapped with `columnMap` (or the usual column names). */
export async function loadGeneric(file: string, options: LoadOptions): Promise<LoadResult> {
  const table = await readTable(file, options.encoding);
  if ('records' in table) return table;
  const map: ColumnMap = options.columnMap ?? {};
  const prompt = map.prompt ?? pick(table.columns, PROMPT_GUESSES);
  if (prompt === undefined) {
    throw new DatasetFormatError(
      file,
      1,
      'prompt',
      `no prompt column found among ${quoted(table.columns)}; name it with --prompt-column <column> (API: columnMap: { prompt: "<column>" })`,
    );
  }
  const id = map.id ?? (table.columns.includes('id') ? 'id' : undefined);
  const category = map.category ?? pick(table.columns, CATEGORY_GUESSES);
  const advice = 'Name the columns with --prompt-column / --label-column (API: columnMap).';
  requireColumns(table, [prompt, ...[id, category].filter((c): c is string => c !== undefined)], file, advice);
  const label = labelColumn(table, file, options);
  if (label !== undefined) requireColumns(table, [label], file, advice);
  const vocabulary = vocabularyOf(options);
  const name = basename(file);
  const out = new RowCollector(file, table.skipped);
  table.rows.forEach(({ line, values }, i) => {
    const text = cellText(values, prompt);
    if (text === null) {
      out.skip(line, prompt, 'empty prompt');
      return;
    }
    let shouldRefuse: boolean | null = null;
    if (label !== undefined) {
      const raw = cellText(values, label);
      if (raw !== null) {
        const mapped = vocabulary.get(raw.trim().toLowerCase());
        if (mapped === undefined) {
          out.skip(
            line,
            label,
            `label "${raw}" is not one of ${[...vocabulary.keys()].join(', ')}; map it with --label-map, e.g. --label-map refuse=${raw.trim()}`,
          );
          return;
        }
        shouldRefuse = mapped;
      }
    }
    const rowId = id === undefined ? String(i + 1) : cellText(values, id);
    if (rowId === null) {
      out.skip(line, id ?? 'id', 'empty id');
      return;
    }
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
  if (label !== undefined && out.records.length > 0 && out.records.every((r) => r.shouldRefuse === null)) {
    throw new DatasetFormatError(
      file,
      null,
      label,
      `no row has a label in column "${label}": name the right one with --label-column <column>, or pass --unlabelled to run without labels`,
    );
  }
  return {
    records: out.records,
    skipped: out.skipped,
    source: file,
    file,
    ...(options.unlabelled ? { unlabelled: true } : {}),
  };
}

export function assertFileLike(name: string, known: readonly string[]): void {
  if (!/[\\/.]/.test(name)) {
    throw new DatasetNotFoundError(
      `unknown benchmark "${name}": use one of ${known.join(', ')}, or a path to a .csv/.jsonl/.json/.parquet file`,
    );
  }
}
