import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type { z } from 'zod';
import { ConfidenceBlocks, ScratchDecoder, decodeConfidences } from './confidences-codec.js';
import { RunStoreFormatError } from './errors.js';
import { parseJsonlLine } from './jsonl.js';
import type { RunStore } from './run-store.js';
import { InstanceRecordSchema, TraceRecordSchema, type InstanceRecord } from './schema.js';

// `Omit` over a loose object's index signature would lose the named fields; omit on the schema keeps them.
const TraceFieldsSchema = TraceRecordSchema.omit({ confidences: true });

/** A trace record's fields other than its confidences (what a reader that holds them decoded elsewhere types). */
export type TraceFields = z.infer<typeof TraceFieldsSchema>;

/**
 * A trace as readers use it: its confidences decoded once (exact Float64), the base64 text dropped. By default
 * the array is a view into a block shared with other traces (see `ConfidenceBlocks`): copy it before transferring
 * it. A reader that keeps only something computed from the values (`ReadOptions.confidences`) holds that as `C`.
 */
export type StoredTrace<C = Float64Array> = TraceFields & { confidences: C };

/** One finished prompt with its traces (latest record per trace index, by index). */
export interface StoredPrompt<C = Float64Array> {
  instance: InstanceRecord;
  traces: StoredTrace<C>[];
}

/** A run store's records after one streaming pass over each JSONL file. */
export interface RunContents<C = Float64Array> {
  /** Finished prompts, latest record per id, in the order of instances.jsonl (as `RunStore.readInstances`). */
  prompts: StoredPrompt<C>[];
  /** Every trace, latest record per (instance, index), in the order `RunStore.readTraces` gives. */
  traces: StoredTrace<C>[];
  /** Prompts with traces on disk but no instance record (an interrupted run), in order of first trace. */
  unfinished: string[];
  /**
   * The exact confidences of one trace of this read. When the read kept them, they are returned as they are; when
   * it kept only what `ReadOptions.confidences` computed, the trace's own line is read back from its byte offset
   * in traces.jsonl (a figure draws a hundred traces of a run's 80,000: holding every value for them was most of
   * a report's memory).
   */
  readConfidences(trace: StoredTrace<C>): Float64Array;
}

export interface ReadOptions<C = Float64Array> {
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
  /**
   * What to keep of each trace's confidences instead of the values (default: the exact values, in shared blocks).
   * It is called once per record with the decoded values in a scratch array that the next record overwrites, so
   * it must not keep the array itself; `readConfidences` gives a trace's values back when they are needed.
   */
  confidences?: (values: Float64Array, trace: TraceFields) => C;
}

const CHUNK = 1 << 20;

/**
 * The complete lines of a JSONL file, read in 1 MiB chunks (a store can outgrow the largest string V8 can
 * hold, so it is never read whole). A last line without its newline (a write cut by a crash) is not a
 * record and is skipped, as `readJsonl` does.
 */
export function* jsonlLines(file: string): Generator<{ line: number; text: string; offset: number }> {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    let line = 0;
    // Byte offset in the file of `data`'s first byte.
    let base = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) return;
      const data = carry.length === 0 ? chunk.subarray(0, n) : Buffer.concat([carry, chunk.subarray(0, n)]);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        line++;
        yield { line, text: data.toString('utf8', start, nl), offset: base + start };
        start = nl + 1;
      }
      base += start;
      // Copy the tail: `chunk` is overwritten by the next read.
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    closeSync(fd);
  }
}

/** Every valid record of a JSONL file in one pass, with where its line starts; a malformed line is an error. */
function* records<S extends z.ZodType>(
  file: string,
  schema: S,
): Generator<{ record: z.infer<S>; line: number; offset: number }> {
  for (const { line, text, offset } of jsonlLines(file)) {
    if (text.trim() === '') continue;
    yield { record: parseJsonlLine(file, line, text, schema), line, offset };
  }
}

/** The line that starts at `offset` (without its newline), read in small chunks. */
function lineAt(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const parts: Buffer[] = [];
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (let at = offset; ; ) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      const nl = chunk.subarray(0, n).indexOf(10);
      parts.push(Buffer.from(chunk.subarray(0, nl === -1 ? n : nl)));
      if (nl !== -1 || n === 0) return Buffer.concat(parts).toString('utf8');
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads one trace's confidences back from its line (see `RunContents.readConfidences`), checking it is that trace. */
function rereadConfidences(file: string, at: { line: number; offset: number }, trace: TraceFields): Float64Array {
  const record = parseJsonlLine(file, at.line, lineAt(file, at.offset), TraceRecordSchema);
  if (record.instanceId !== trace.instanceId || record.traceIndex !== trace.traceIndex)
    throw new RunStoreFormatError(
      file,
      at.line,
      `holds ${record.instanceId}#${record.traceIndex} where the read found ${trace.instanceId}#${trace.traceIndex}: the file was rewritten while it was read`,
    );
  return decodeConfidences(record.confidences);
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
export function readRunContents<C = Float64Array>(store: RunStore, options: ReadOptions<C> = {}): RunContents<C> {
  const instances = new Map<string, InstanceRecord>();
  for (const { record } of records(store.path('instances'), InstanceRecordSchema))
    setLatest(instances, record.instanceId, record);
  const file = store.path('traces');
  const traces = new Map<string, StoredTrace<C>>();
  const keep = keepConfidences(options);
  // Where each trace's line starts, for `readConfidences` (only when the values are not kept).
  const lines = new WeakMap<StoredTrace<C>, { line: number; offset: number }>();
  // Each record's strings that repeat across traces (its prompt's id, the endpoint) are kept once.
  const intern = new Map<string, string>();
  const once = (s: string): string => {
    const seen = intern.get(s);
    if (seen !== undefined) return seen;
    intern.set(s, s);
    return s;
  };
  for (const { record: r, line, offset } of records(file, TraceRecordSchema)) {
    // The parsed record is this read's own: its confidences are replaced in place (a copy per trace was garbage
    // the size of the run's records).
    const encoded = r.confidences;
    const stored = r as unknown as StoredTrace<C>;
    stored.instanceId = once(r.instanceId);
    if (r.endpoint !== null) stored.endpoint = once(r.endpoint);
    stored.confidences = keep.value(encoded, stored);
    if (!keep.values) lines.set(stored, { line, offset });
    if (options.dropText || (options.keepText && !options.keepText(stored, instances.get(r.instanceId)))) {
      stored.text = '';
      stored.reasoning = null;
    }
    setLatest(traces, `${r.instanceId}#${r.traceIndex}`, stored);
  }
  const readConfidences = (trace: StoredTrace<C>): Float64Array => {
    const at = lines.get(trace);
    if (at !== undefined) return rereadConfidences(file, at, trace);
    if (trace.confidences instanceof Float64Array) return trace.confidences;
    throw new RunStoreFormatError(file, null, `${trace.instanceId}#${trace.traceIndex} is not a trace of this read`);
  };
  return { ...groupByPrompt(instances, traces), readConfidences };
}

/** How a read turns a record's base64 confidences into what it keeps: the values (shared blocks) or the caller's summary. */
function keepConfidences<C>(options: ReadOptions<C>): {
  values: boolean;
  value: (encoded: string, trace: TraceFields) => C;
} {
  const summarize = options.confidences;
  if (summarize === undefined) {
    const blocks = new ConfidenceBlocks();
    return { values: true, value: (encoded) => blocks.decode(encoded) as C };
  }
  const scratch = new ScratchDecoder();
  return { values: false, value: (encoded, trace) => summarize(scratch.decode(encoded), trace) };
}

function groupByPrompt<C>(
  instances: ReadonlyMap<string, InstanceRecord>,
  traces: ReadonlyMap<string, StoredTrace<C>>,
): Omit<RunContents<C>, 'readConfidences'> {
  const byInstance = new Map<string, StoredTrace<C>[]>();
  for (const t of traces.values()) {
    let list = byInstance.get(t.instanceId);
    if (!list) byInstance.set(t.instanceId, (list = []));
    list.push(t);
  }
  const prompts: StoredPrompt<C>[] = [];
  for (const instance of instances.values()) {
    const list = byInstance.get(instance.instanceId) ?? [];
    prompts.push({ instance, traces: list.sort((a, b) => a.traceIndex - b.traceIndex) });
  }
  const unfinished = [...byInstance.keys()].filter((id) => !instances.has(id));
  return { prompts, traces: [...traces.values()], unfinished };
}
