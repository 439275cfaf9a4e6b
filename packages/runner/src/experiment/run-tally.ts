import type { InstanceRecord, Results, TraceRecord } from '@deepconf-safety/run-store';
import { type FinalTally, finalTally, summarizeRecords } from '../summarize.js';

/** The prompts of a finished run, as its verdict counts them. */
export interface PromptCounts {
  /** Finished prompts. */
  prompts: number;
  /** Their traces, errors included. */
  traces: number;
  /** Those with a decision (refuse or comply). */
  decided: number;
}

/**
 * results.json accumulated as prompts finish: each prompt's latest record and its final-trace counts, seeded with
 * the prompts the resume state found finished. The run never reads its traces back to summarise itself.
 */
export class RunTally {
  readonly #prompts = new Map<string, { record: InstanceRecord; finals: FinalTally }>();

  constructor(
    finished: ReadonlyMap<string, InstanceRecord> = new Map(),
    finals: ReadonlyMap<string, FinalTally> = new Map(),
  ) {
    for (const [id, record] of finished)
      this.#prompts.set(id, { record, finals: finals.get(id) ?? { finalTraces: 0, finalEarlyStopped: 0 } });
  }

  /** A prompt finished (again, under --retry-errors: its newer record replaces the older, as readers do). */
  add(record: InstanceRecord, traces: Iterable<Pick<TraceRecord, 'phase' | 'stopReason'>>): void {
    this.#prompts.set(record.instanceId, { record, finals: finalTally(traces) });
  }

  /** The finished prompts as the run's verdict counts them (`runHealth`). */
  prompts(): PromptCounts {
    let traces = 0;
    let decided = 0;
    for (const { record } of this.#prompts.values()) {
      traces += record.traces;
      if (record.decision !== null) decided++;
    }
    return { prompts: this.#prompts.size, traces, decided };
  }

  get size(): number {
    return this.#prompts.size;
  }

  results(options: { emulated: boolean; splitPercentile: number }): Results {
    const prompts = [...this.#prompts.values()];
    const finals = prompts.reduce(
      (a, p) => ({
        finalTraces: a.finalTraces + p.finals.finalTraces,
        finalEarlyStopped: a.finalEarlyStopped + p.finals.finalEarlyStopped,
      }),
      { finalTraces: 0, finalEarlyStopped: 0 },
    );
    return summarizeRecords(
      prompts.map((p) => p.record),
      { ...options, finals },
    );
  }
}
