import type { HubOptions } from './hub.js';

/** Which columns of a generic CSV/JSONL/parquet file hold what. */
export type ColumnMap = {
  /** Column with the prompt text (required unless one of the usual names exists). */
  prompt?: string;
  /** Column with a row id; default: `id` when present, else the row number. */
  id?: string;
  /** Column with the "should refuse" label; a file without one is refused unless `unlabelled` is set. */
  label?: string;
  /** Column with a category; default: `category` or `type` when present. */
  category?: string;
};

export type LoadOptions = HubOptions & {
  /** Local file instead of the shipped copy or the hub (CSV, JSONL, JSON or parquet by extension). */
  path?: string | undefined;
  /** Hub config, e.g. `toxicchat0124` / `toxicchat1123`, `wildguardtest` / `wildguardtrain`. */
  config?: string | undefined;
  /** Split: `train` / `test` for hub datasets, `all` / `test` / `val` for HarmBench. */
  split?: string | undefined;
  /** Hub revision (branch, tag or commit); pin a commit for reproducible runs. Default `main`. */
  revision?: string | undefined;
  /** Fail on the first malformed row instead of skipping it (skipped rows are always reported). */
  strict?: boolean | undefined;
  /** Column mapping for generic files. */
  columnMap?: ColumnMap | undefined;
  /** Label values (case-insensitive) → shouldRefuse, for generic files; adds to the built-in vocabulary. */
  labelMap?: Readonly<Record<string, boolean | null>> | undefined;
  /**
   * The file has no labels and that is intended (generic files only): every record gets shouldRefuse = null
   * and the result says `unlabelled: true`, so reports can say accuracy is not available. Without it, a file
   * with no label column (or no label in any row) is refused.
   */
  unlabelled?: boolean | undefined;
  /**
   * Text encoding of a local file (default UTF-8; e.g. `latin1`, `windows-1252`, `utf-16le`). Without it, bytes
   * that are not valid UTF-8 are an error naming the byte offset, never replaced characters.
   */
  encoding?: string | undefined;
};
