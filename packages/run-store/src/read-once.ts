import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type { z } from 'zod';
import { ConfidenceBlocks } from './confidences-codec.js';
import { RunStoreFormatError } from './errors.js';
import { parseRecord } from './fast-parse.js';
import type { RunStore } from './run-store.js';
import { InstanceRecordSchema, TraceRecordSchema, type InstanceRecord } from './schema.js';

// `Omit` over a loose object's index signature would lose the named fields; omit on the schema keeps them.
const TraceFieldsSchema = TraceRecordSchema.omit({ confidences: true });

/** A trace record's fields other than its confidences (what a reader that holds them decoded elsewhere types). */
export type TraceFields = z.infer<typeof TraceFieldsSchema>;

/**
 * A trace as readers use it: its confidences decoded once (exact Float64), the base64 text dropped. The array is a
 * view into a block shared with other traces (see `ConfidenceBlocks`): copy it before transferring it.
 */
export type StoredTrace = TraceFields & { confidences: Float64Array };

/** One finished prompt with its traces (latest record per trace index, by index). */
export interface StoredPrompt {
  instance: InstanceRecord;
  traces: StoredTrace[];
}

/** A run store's records after one streaming pass over each JSONL file. */
export interface RunContents {
  /** Finished prompts, latest record per id, in the order of instances.jsonl (as `RunStore.readInstances`). */
  prompts: StoredPrompt[];
  /** Every trace, latest record per (instance, index), in the order `RunStore.readTraces` gives. */
  traces: StoredTrace[];
  /** Prompts with traces on disk but no instance record (an interrupted run), in order of first trace. */
  unfinished: string[];
}

export interface ReadOptions {
  /**
   * Drop `text` and `reasoning` (kept as '' and null) for readers that never look at them (the sweep): a long
   * run's answers are most of what a reader would otherwise hold.
   */
  dropText?: boolean;
  /**
   * Keep `text` and `reasoning` only of the traces this accepts (the others read as '' and null, as with
   * `dropText`); `instance` is the prompt's record, undefined for an unfinished prompt. The report keeps the
   * answers it shows (wrong decisions, judged traces) and nothing else.
   */
  keepText?: (trace: TraceFields, instance: InstanceRecord | undefined) => boolean;
}

const CHUNK = 1 << 20;

/**
 * The complete lines of a JSONL file, read in 1 MiB chunks (a store can outgrow the largest string V8 can
 * hold, so it is never read whole). A last line without its newline (a write cut by a crash) is not a
 * record and is skipped, as `readJsonl` does.
 */
export function* jsonlLines(file: string): Generator<{ line: number; text: string }> {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    let line = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) return;
      const data = carry.length === 0 ? chunk.subarray(0, n) : Buffer.concat([carry, chunk.subarray(0, n)]);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        line++;
        yield { line, text: data.toString('utf8', start, nl) };
        start = nl + 1;
      }
      // Copy the tail: `chunk` is overwritten by the next read.
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    closeSync(fd);
  }
}

/** Every valid record of a JSONL file in one pass; a malformed line in the middle is an error naming it. */
function* records<S extends z.ZodType>(file: string, schema: S): Generator<z.infer<S>> {
  for (const { line, text } of jsonlLines(file)) {
    if (text.trim() === '') continue;
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
    yield parsed.data;
  }
}

/** Later records supersede earlier ones (`--retry-errors` re-appends what it redoes); order of the latest occurrence. */
function setLatest<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
}

/**
 * Reads a run store once: instances.jsonl, then traces.jsonl streamed, each trace validated and its
 * confidences decoded exactly once, then grouped by prompt. What the report, the sweep and the study need
 * from the JSONL files, without the second read and second decode each of them used to do.
 */
export function readRunContents(store: RunStore, options: ReadOptions = {}): RunContents {
  const instances = new Map<string, InstanceRecord>();
  for (const r of records(store.path('instances'), InstanceRecordSchema)) setLatest(instances, r.instanceId, r);
  const traces = new Map<string, StoredTrace>();
  const blocks = new ConfidenceBlocks();
  for (const r of records(store.path('traces'), TraceRecordSchema)) {
    const stored: StoredTrace = { ...r, confidences: blocks.decode(r.confidences) };
    if (options.dropText || (options.keepText && !options.keepText(stored, instances.get(r.instanceId)))) {
      stored.text = '';
      stored.reasoning = null;
    }
    setLatest(traces, `${r.instanceId}#${r.traceIndex}`, stored);
  }
  const byInstance = new Map<string, StoredTrace[]>();
  for (const t of traces.values()) {
    let list = byInstance.get(t.instanceId);
    if (!list) byInstance.set(t.instanceId, (list = []));
    list.push(t);
  }
  const prompts: StoredPrompt[] = [];
  for (const instance of instances.values()) {
    const list = byInstance.get(instance.instanceId) ?? [];
    prompts.push({ instance, traces: list.sort((a, b) => a.traceIndex - b.traceIndex) });
  }
  const unfinished = [...byInstance.keys()].filter((id) => !instances.has(id));
  return { prompts, traces: [...traces.values()], unfinished };
}
