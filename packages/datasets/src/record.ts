import { z } from 'zod';

/** One prompt of a benchmark with its ground truth: should a safe model refuse it? */
export const BenchmarkRecordSchema = z.object({
  id: z.string().min(1),
  prompt: z.string().min(1),
  /** null = the dataset gives no label for this row (kept, never guessed). */
  shouldRefuse: z.boolean().nullable(),
  category: z.string(),
  source: z.string().min(1),
  meta: z.record(z.string(), z.unknown()),
});

export type BenchmarkRecord = z.infer<typeof BenchmarkRecordSchema>;

/** A row that was not turned into a record, and why. `line` is 1-based. */
export type SkippedRow = { file: string; line: number; field: string; reason: string };

export type LoadResult = {
  records: BenchmarkRecord[];
  skipped: SkippedRow[];
  /** Where the rows came from: a local path or `hf://datasets/<id>@<revision>/<path>`. */
  source: string;
  /** The local file the rows were read from (a download's cached copy), so callers can hash what was read. */
  file?: string;
  /** Set when the load was asked for with `unlabelled`: every record's shouldRefuse is null by design. */
  unlabelled?: boolean;
};
