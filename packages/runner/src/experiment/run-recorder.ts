import type { InstanceRecord, RunStore, TraceRecord } from '@deepconf-safety/run-store';
import { isVoter } from '@deepconf-safety/confidence';
import type { RunTally } from './run-tally.js';
import type { TraceErrors } from './trace-errors.js';
import { type TraceSummary, traceSummary } from './trace-records.js';

export interface RunProgress {
  instancesDone: number;
  instancesTotal: number;
  /** Tokens generated in this process (for tokens/s). */
  sessionTokens: number;
  /** Over every finished prompt, resumed ones included. */
  tokens: number;
  baselineTokens: number;
  earlyStopped: number;
  errors: number;
}

/**
 * The one writer of the run's records: each goes to the store, the progress, the summary and the error count as it
 * is made.
 */
export class RunRecorder {
  readonly #progress: RunProgress;
  /** Prompts finished before this process started. */
  readonly resumedInstances: number;

  constructor(
    private readonly store: RunStore,
    private readonly tally: RunTally,
    private readonly errors: TraceErrors,
    instancesTotal: number,
    resumed: Iterable<InstanceRecord>,
    private readonly onProgress?: (progress: RunProgress) => void,
  ) {
    this.#progress = {
      instancesDone: 0,
      instancesTotal,
      sessionTokens: 0,
      tokens: 0,
      baselineTokens: 0,
      earlyStopped: 0,
      errors: 0,
    };
    for (const r of resumed) this.#countInstance(r);
    this.resumedInstances = this.#progress.instancesDone;
  }

  /** Appends a trace, marked as voter or not against the threshold its prompt decides with; returns its summary. */
  trace(r: TraceRecord, threshold: number | null): TraceSummary {
    const s = traceSummary(r);
    this.store.appendTrace({ ...r, voted: isVoter(s, threshold) });
    this.errors.record(r);
    this.#progress.sessionTokens += r.tokens;
    this.report();
    return s;
  }

  /** Appends a finished prompt's record; `traces` are the summaries it was decided from. */
  instance(rec: InstanceRecord, traces: readonly TraceSummary[]): void {
    this.store.appendInstance(rec);
    this.tally.add(rec, traces);
    this.#countInstance(rec);
    this.report();
  }

  report(): void {
    this.onProgress?.({ ...this.#progress });
  }

  /** Prompts finished in this process. */
  get ranInstances(): number {
    return this.#progress.instancesDone - this.resumedInstances;
  }

  #countInstance(r: InstanceRecord): void {
    this.#progress.instancesDone++;
    this.#progress.tokens += r.tokens;
    this.#progress.baselineTokens += r.baselineTokens;
    this.#progress.earlyStopped += r.earlyStopped;
    this.#progress.errors += r.errors;
  }
}
