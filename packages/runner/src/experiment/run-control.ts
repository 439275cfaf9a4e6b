import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { RunInterruptedError } from '../errors.js';

/**
 * The run's two queues and its one abort: a failure anywhere (or the caller's signal) aborts every trace in flight,
 * and `settle` waits until nothing will append to the store any more.
 */
export class RunControl {
  /**
   * Every trace of every prompt. Queued tasks are never dropped on abort: each one starts, sees the abort and throws,
   * so every promise settles and onIdle() really means nothing will append to the store any more.
   */
  readonly traceQueue: PQueue;
  /** Bounds how many prompts are open at once, so memory stays flat however many prompts there are. */
  readonly instanceQueue: PQueue;
  readonly #internal = new AbortController();
  #failure: Error | null = null;
  readonly #external: AbortSignal | undefined;
  readonly #onExternalAbort = () => this.abortAll(null);

  constructor(concurrency: number, external?: AbortSignal) {
    this.traceQueue = new PQueue({ concurrency });
    this.instanceQueue = new PQueue({ concurrency });
    // Every in-flight trace listens on it: up to `concurrency` listeners is expected, not a leak.
    setMaxListeners(0, this.#internal.signal);
    this.#external = external;
    external?.addEventListener('abort', this.#onExternalAbort, { once: true });
    if (external?.aborted) this.abortAll(null);
  }

  /** Aborts every trace in flight; a reason (the first one wins) makes the run throw it. */
  abortAll(reason: Error | null): void {
    if (reason && !this.#failure) this.#failure = reason;
    if (!this.#internal.signal.aborted) this.#internal.abort();
  }

  get signal(): AbortSignal {
    return this.#internal.signal;
  }

  get aborted(): boolean {
    return this.#internal.signal.aborted;
  }

  /** Throws the run's failure, or RunInterruptedError once it was aborted. */
  checkAborted(): void {
    if (this.#failure) throw this.#failure;
    if (this.#internal.signal.aborted) throw new RunInterruptedError();
  }

  /** Queues one trace's work; final traces (priority 1) go before new warmups (0), so prompts finish and leave. */
  enqueue<T>(task: () => Promise<T>, priority: number): Promise<T> {
    return this.traceQueue.add(
      async () => {
        this.checkAborted();
        return task();
      },
      { priority },
    ) as Promise<T>;
  }

  /**
   * Ends the run: with an `error` (not an interruption), aborts everything for it; waits for both queues; throws the
   * failure if there was one. Returns whether the run was interrupted.
   */
  async settle(error?: unknown): Promise<'completed' | 'interrupted'> {
    this.#external?.removeEventListener('abort', this.#onExternalAbort);
    if (error !== undefined) {
      this.abortAll(error instanceof RunInterruptedError || !(error instanceof Error) ? null : error);
    }
    await this.traceQueue.onIdle();
    await this.instanceQueue.onIdle();
    if (this.#failure) throw this.#failure;
    return this.#internal.signal.aborted ? 'interrupted' : 'completed';
  }
}
