import {
  closeSync,
  existsSync,
  fsync,
  fsyncSync,
  openSync,
  readFileSync,
  writeSync,
  ftruncateSync,
  statSync,
} from 'node:fs';
import type { z } from 'zod';
import { RunStoreFormatError } from './errors.js';
import { parseRecord } from './fast-parse.js';

export interface JsonlReadResult<T> {
  records: T[];
  /** A last line cut short by a crash (`kill -9` mid-write); it is ignored and repaired on the next append. */
  truncatedTail: boolean;
}

/** One line's record, validated against its schema: a malformed line is an error naming the file and line. */
export function parseJsonlLine<S extends z.ZodType>(file: string, line: number, text: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunStoreFormatError(
      file,
      line,
      `not valid JSON (${(error as Error).message}); the file was edited or corrupted`,
    );
  }
  const parsed = parseRecord(schema, value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RunStoreFormatError(
      file,
      line,
      `field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/**
 * Reads a JSONL file, validating each line. A malformed line in the middle is an error naming the line;
 * only a final line without its newline (a write interrupted by a crash) is tolerated.
 */
export function readJsonl<S extends z.ZodType>(file: string, schema: S): JsonlReadResult<z.infer<S>> {
  if (!existsSync(file)) return { records: [], truncatedTail: false };
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const records: z.infer<S>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() !== '') records.push(parseJsonlLine(file, i + 1, line, schema));
  });
  return { records, truncatedTail: last.trim() !== '' };
}

/**
 * Append-only JSONL writer. Each record is one `write` of a whole line, so a killed process loses at
 * most the line being written, never a finished one; with `fsync` each line is also flushed to disk,
 * which a machine crash or power loss needs.
 */
export class JsonlAppender {
  #fd: number;

  constructor(
    readonly file: string,
    options: { fsync?: boolean } = {},
  ) {
    this.#fsync = options.fsync ?? true;
    this.#fd = openSync(file, 'a+');
    this.#repairTail();
  }

  readonly #fsync: boolean;
  #dirty = false;
  #flushing = false;
  #closed = false;

  append(record: unknown): void {
    writeSync(this.#fd, `${JSON.stringify(record)}\n`);
    this.#dirty = true;
    if (this.#fsync) this.sync();
  }

  /** Flushes appended lines to the disk (they already survive a killed process once `append` returns). */
  sync(): void {
    if (!this.#dirty) return;
    fsyncSync(this.#fd);
    this.#dirty = false;
  }

  /**
   * Flushes in the background: a synchronous fsync stalls every stream in flight (measured up to 166 ms under
   * load), while lines already written survive a killed process anyway. Calls coalesce; `close` flushes what is left.
   */
  syncSoon(): void {
    if (!this.#dirty || this.#flushing || this.#closed) return;
    this.#flushing = true;
    this.#dirty = false;
    fsync(this.#fd, () => {
      this.#flushing = false;
      // Lines appended meanwhile get their own flush.
      if (this.#dirty) this.syncSoon();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // An fsync still running in the background holds no reference that closing breaks; this one covers the rest.
    this.#dirty = true;
    this.sync();
    closeSync(this.#fd);
  }

  /** Drops a partial last line left by a crash so the next record starts on a line of its own. */
  #repairTail(): void {
    const size = statSync(this.file).size;
    if (size === 0) return;
    const text = readFileSync(this.file, 'utf8');
    if (text.endsWith('\n')) return;
    const keep = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1));
    ftruncateSync(this.#fd, keep);
  }
}
