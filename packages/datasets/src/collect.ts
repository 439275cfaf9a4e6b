import { BenchmarkRecordSchema, type BenchmarkRecord, type SkippedRow } from './record.js';

/** Gathers records and skipped rows for one file; every row ends up in exactly one of the two lists. */
export class RowCollector {
  readonly records: BenchmarkRecord[] = [];
  readonly skipped: SkippedRow[];
  private readonly seen = new Map<string, number>();

  constructor(
    readonly file: string,
    initialSkipped: readonly SkippedRow[] = [],
  ) {
    this.skipped = [...initialSkipped];
  }

  skip(line: number, field: string, reason: string): void {
    this.skipped.push({ file: this.file, line, field, reason });
  }

  add(line: number, candidate: BenchmarkRecord): void {
    const parsed = BenchmarkRecordSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.skip(line, issue?.path.join('.') || '(record)', issue?.message ?? 'invalid record');
      return;
    }
    const first = this.seen.get(parsed.data.id);
    if (first !== undefined) {
      this.skip(line, 'id', `duplicate id "${parsed.data.id}" (first seen on line ${first})`);
      return;
    }
    this.seen.set(parsed.data.id, line);
    this.records.push(parsed.data);
  }
}
