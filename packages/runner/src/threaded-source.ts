import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { VllmClientError, type VllmClientOptions } from '@deepconf-safety/vllm-client';
import { RunnerConfigError, TraceThreadError } from './errors.js';
import type { TraceHooks, TraceRequest, TraceResult, TraceSource } from './trace-source.js';
import type { FromThread, ToThread } from './trace-thread-protocol.js';

/** What a trace thread needs to build its own VllmClient: plain data, since it crosses a thread boundary. */
export type ThreadClientOptions = Pick<
  VllmClientOptions,
  | 'baseURLs'
  | 'apiKey'
  | 'model'
  | 'endpoint'
  | 'maxRetries'
  | 'idleTimeoutMs'
  | 'firstTokenTimeoutMs'
  | 'traceTimeoutMs'
  | 'idleSocketMs'
  | 'topKMode'
>;

export type ThreadedSourceOptions = {
  /** Threads that stream, parse and score traces (each with its own sockets). */
  threads: number;
  client: ThreadClientOptions;
};

type Thread = { worker: Worker; inFlight: number; dead: boolean };
type Pending = { thread: Thread; resolve: (r: TraceResult) => void; reject: (e: unknown) => void };

/**
 * Runs traces in worker threads, each with its own VllmClient: one event loop reads, parses and scores about one
 * GPU's stream (see the README's benchmarks), so several endpoints behind one runner want several. The thread's
 * client applies `hooks.stopRule` and `hooks.maxRetries` exactly as a VllmClient in this thread does.
 */
export class ThreadedTraceSource implements TraceSource {
  readonly #threads: Thread[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  private constructor(threads: Thread[]) {
    this.#threads = threads;
  }

  /** Starts the threads and resolves once every one has its client ready. */
  static async start(options: ThreadedSourceOptions): Promise<ThreadedTraceSource> {
    if (!Number.isSafeInteger(options.threads) || options.threads < 1) {
      throw new RunnerConfigError('threads', `must be a positive integer, got ${String(options.threads)}`);
    }
    const entry = threadEntry();
    const threads = Array.from({ length: options.threads }, (): Thread => {
      const worker = new Worker(entry.url, {
        workerData: { client: options.client, entry: entry.module },
        execArgv: entry.execArgv,
      });
      return { worker, inFlight: 0, dead: false };
    });
    const source = new ThreadedTraceSource(threads);
    try {
      await Promise.all(threads.map((t, i) => source.#watch(t, i)));
    } catch (err) {
      await source.close();
      throw err;
    }
    return source;
  }

  runTrace(request: TraceRequest, hooks: TraceHooks = {}): Promise<TraceResult> {
    const signal = hooks.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const thread = this.#pick();
    if (thread === null)
      return Promise.reject(new TraceThreadError('every trace thread has died; see the error above'));
    const id = this.#nextId++;
    return new Promise<TraceResult>((resolve, reject) => {
      const onAbort = () => {
        this.#settle(id);
        this.#post(thread, { type: 'abort', id });
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        thread,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      // Only a thread with traces in flight keeps the process alive: an idle one must not hold it open after a run.
      if (thread.inFlight++ === 0) thread.worker.ref();
      this.#post(thread, {
        type: 'run',
        id,
        request,
        stopRule: hooks.stopRule ?? null,
        maxRetries: hooks.maxRetries ?? null,
      });
    });
  }

  /**
   * How busy each thread's event loop has been, as `performance.eventLoopUtilization`: since it started, or since
   * `since` (an earlier result of this method). Near 1 means that thread is what limits the run.
   */
  eventLoopUtilization(since?: readonly EventLoopUtilization[]): EventLoopUtilization[] {
    return this.#threads.map((t, i) => t.worker.performance.eventLoopUtilization(since?.[i]));
  }

  /** Stops the threads; traces still running fail. */
  async close(): Promise<void> {
    for (const [id, p] of [...this.#pending]) {
      this.#settle(id);
      p.reject(new TraceThreadError('the threaded trace source was closed'));
    }
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  /** Wires a thread's messages; resolves when it reports ready, rejects if it fails first. */
  #watch(thread: Thread, index: number): Promise<void> {
    return new Promise<void>((ready, failed) => {
      let started = false;
      thread.worker.on('message', (m: FromThread) => {
        if (m.type === 'ready') {
          started = true;
          thread.worker.unref();
          ready();
          return;
        }
        const p = this.#pending.get(m.id);
        if (p === undefined) return; // aborted meanwhile
        this.#settle(m.id);
        if (m.type === 'done') p.resolve(m.result);
        else p.reject(rebuildError(m.error));
      });
      const die = (why: string) => {
        thread.dead = true;
        const err = new TraceThreadError(`trace thread ${index} ${why}`);
        for (const [id, p] of [...this.#pending]) {
          if (p.thread !== thread) continue;
          this.#settle(id);
          p.reject(err);
        }
        if (!started) failed(err);
      };
      thread.worker.on('error', (err) => die(`failed: ${err.message}`));
      thread.worker.on('exit', (code) => thread.dead || die(`exited with code ${code}`));
    });
  }

  #settle(id: number): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (--p.thread.inFlight === 0) p.thread.worker.unref();
  }

  /** The live thread with the fewest traces in flight. */
  #pick(): Thread | null {
    let best: Thread | null = null;
    for (const t of this.#threads) if (!t.dead && (best === null || t.inFlight < best.inFlight)) best = t;
    return best;
  }

  #post(thread: Thread, message: ToThread): void {
    if (!thread.dead) thread.worker.postMessage(message);
  }
}

/**
 * Where the thread's code is: beside this module, built (`.js`) or source (`.ts`). Source is loaded through a small
 * bootstrap that registers tsx first, since a worker's `--import` hooks come too late for its entry module.
 */
function threadEntry(): { url: URL; module: string; execArgv: string[] | undefined } {
  const source = import.meta.url.endsWith('.ts');
  const module = new URL(`./trace-thread${source ? '.ts' : '.js'}`, import.meta.url).href;
  if (!source) return { url: new URL(module), module, execArgv: undefined };
  return {
    url: new URL('./trace-thread-boot.mjs', import.meta.url),
    module,
    execArgv: ['--conditions=@deepconf-safety/source'],
  };
}

/** A client error comes back as the VllmClientError it was (code, attempts), so callers branch on its code. */
function rebuildError(e: FromThread & { type: 'error' } extends { error: infer E } ? E : never): Error {
  return VllmClientError.fromJSON(e) ?? new TraceThreadError(`trace thread: ${e.message}`);
}
