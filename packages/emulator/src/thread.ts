import { Worker } from 'node:worker_threads';
import { EmulatorError, EmulatorListenError } from './errors.js';
import { resolveOptions, type EmulatorOptions, type FaultOptions } from './options.js';

// The emulator in a worker thread of its own. In-process (`startEmulator`) it shares one event loop with the
// client that streams from it, so a study or an experiment on the emulator uses one core of several; in its own
// thread generation and the client's parsing run side by side. The options cross a thread boundary: plain data
// only (static faults, no hook, clock or log sink).

/** Options of an emulator thread: those of `startEmulator` that are plain data. */
export type EmulatorThreadOptions = Omit<EmulatorOptions, 'faults' | 'now' | 'log'> & {
  readonly faults?: FaultOptions;
};

export interface EmulatorThreadHandle {
  /** http://HOST:PORT */
  readonly url: string;
  /** url + '/v1' */
  readonly baseURL: string;
  readonly port: number;
  readonly models: readonly string[];
  /** Stops the server and the thread. */
  close(): Promise<void>;
}

/** What the thread posts back. */
export type FromEmulatorThread =
  | { type: 'ready'; url: string; port: number; models: string[] }
  | { type: 'error'; listen: boolean; message: string }
  | { type: 'closed' };

/** Booting the thread compiles the emulator's modules when run from source: generous, but a deadline. */
const READY_TIMEOUT_MS = 120_000;
const CLOSE_TIMEOUT_MS = 10_000;

/** The thread's entry: built (`.js`) beside this module, or source through a bootstrap that registers tsx first. */
function threadEntry(): { url: URL; workerData: { entry: string }; execArgv: string[] | undefined } {
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(`./thread-main${source ? '.ts' : '.js'}`, import.meta.url).href;
  if (!source) return { url: new URL(entry), workerData: { entry }, execArgv: undefined };
  return {
    url: new URL('./thread-boot.mjs', import.meta.url),
    workerData: { entry },
    execArgv: ['--conditions=@deepconf-safety/source'],
  };
}

function waitReady(worker: Worker, options: EmulatorThreadOptions): Promise<FromEmulatorThread & { type: 'ready' }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new EmulatorError(`the emulator thread did not start within ${READY_TIMEOUT_MS / 1000}s`));
    }, READY_TIMEOUT_MS);
    const settle = (fn: () => void): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      fn();
    };
    const onMessage = (m: FromEmulatorThread): void => {
      if (m.type === 'ready') settle(() => resolve(m));
      else if (m.type === 'error') {
        const e = m.listen
          ? new EmulatorListenError(options.host ?? '127.0.0.1', options.port ?? 0, { cause: new Error(m.message) })
          : new EmulatorError(m.message);
        settle(() => reject(e));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => settle(() => reject(new EmulatorError(`emulator thread: ${err.message}`))));
    worker.once('exit', (code) =>
      settle(() => reject(new EmulatorError(`the emulator thread exited with code ${code} before it listened`))),
    );
  });
}

/**
 * Starts the emulator in a worker thread; resolves once it listens. Options are checked here first, so a bad one
 * throws the same EmulatorOptionError as `startEmulator`. The thread never keeps the process alive on its own.
 */
export async function startEmulatorThread(options: EmulatorThreadOptions = {}): Promise<EmulatorThreadHandle> {
  const resolved = resolveOptions(options);
  const entry = threadEntry();
  const worker = new Worker(entry.url, {
    workerData: { ...entry.workerData, options },
    execArgv: entry.execArgv,
  });
  const ready = await waitReady(worker, options);
  worker.unref();
  let closing: Promise<void> | null = null;
  return {
    url: ready.url,
    baseURL: `${ready.url}/v1`,
    port: ready.port,
    models: resolved.models,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), CLOSE_TIMEOUT_MS);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage({ type: 'close' });
      });
      return closing;
    },
  };
}
