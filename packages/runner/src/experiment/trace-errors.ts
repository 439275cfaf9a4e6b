import { type TraceRecord, traceKey } from '@deepconf-safety/run-store';

/** Error traces of a run, grouped by message (most frequent first), with the prompts they touch. */
export interface ErrorTally {
  traces: number;
  prompts: number;
  /** Distinct messages, most frequent first. */
  messages: Array<{ message: string; count: number }>;
}

type ErrorFields = Pick<TraceRecord, 'instanceId' | 'stopReason' | 'error'>;

export function tallyErrors(traces: Iterable<ErrorFields>): ErrorTally {
  const byMessage = new Map<string, number>();
  const prompts = new Set<string>();
  let count = 0;
  for (const t of traces) {
    if (t.stopReason !== 'error') continue;
    count++;
    prompts.add(t.instanceId);
    const message = t.error ?? 'unknown error';
    byMessage.set(message, (byMessage.get(message) ?? 0) + 1);
  }
  const messages = [...byMessage].map(([message, n]) => ({ message, count: n })).sort((a, b) => b.count - a.count);
  return { traces: count, prompts: prompts.size, messages };
}

/**
 * The error traces of a run as its store holds them, kept as traces are recorded, so the run never reads
 * traces.jsonl back to count them. Seeded with the resume state's error traces; a later record of the same
 * (instance, trace index) replaces the earlier one, as `RunStore.readTraces` does (a trace redone by
 * --retry-errors that succeeded is no longer an error). `tally()` equals `tallyErrors(store.readTraces())`.
 */
export class TraceErrors {
  /** Only the error traces, in the order of their latest record (the order `readTraces` gives them). */
  readonly #errors = new Map<string, ErrorFields>();

  constructor(recorded: Iterable<ErrorFields & Pick<TraceRecord, 'traceIndex'>> = []) {
    for (const r of recorded) this.record(r);
  }

  record(r: ErrorFields & Pick<TraceRecord, 'traceIndex'>): void {
    const key = traceKey(r);
    this.#errors.delete(key);
    if (r.stopReason === 'error')
      this.#errors.set(key, { instanceId: r.instanceId, stopReason: r.stopReason, error: r.error });
  }

  tally(): ErrorTally {
    return tallyErrors(this.#errors.values());
  }
}
