import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { EmulatorListenError } from './errors.js';
import {
  resolveOptions,
  validateFaults,
  type EmulatorOptions,
  type FaultHook,
  type FaultOptions,
  type ResolvedOptions,
} from './options.js';
import { createRequestHandler } from './routes.js';
import { EmulatorState, type EmulatorStats } from './state.js';

export { EMULATOR_NAME, EMULATOR_VERSION } from './model-cards.js';
export type { EmulatorStats } from './state.js';

export interface EmulatorHandle {
  /** http://HOST:PORT */
  readonly url: string;
  /** url + '/v1' (what an OpenAI client takes as baseURL). */
  readonly baseURL: string;
  readonly port: number;
  /** Every served model name, the default (first) one included. */
  readonly models: readonly string[];
  stats(): EmulatorStats;
  /** Prometheus text, as served on /metrics. */
  metrics(): string;
  /** Replace the faults (e.g. make the server fail, then recover, within one test). */
  setFaults(faults: FaultOptions | FaultHook | undefined): void;
  /** Stops listening, drops open connections and timers. */
  close(): Promise<void>;
}

/** Keeps the open sockets (close() drops them) and resets new ones under the refuseConnections fault. */
function trackSockets(server: Server, state: EmulatorState): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    if (state.staticFaults().refuseConnections === true) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Listens on the configured host and port; returns the server's URL (the real port when 0 was asked). */
async function listen(server: Server, opts: ResolvedOptions): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new EmulatorListenError(opts.host, opts.port, { cause: e }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${hostPart}:${port}`, port };
}

/** Starts the emulator; resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const opts = resolveOptions(options);
  const state = new EmulatorState(opts, options.faults);
  const server = createServer(createRequestHandler(state));
  const sockets = trackSockets(server, state);
  const { url, port } = await listen(server, opts);
  let closing: Promise<void> | null = null;
  return {
    url,
    baseURL: `${url}/v1`,
    port,
    models: opts.models,
    stats: () => state.stats(),
    metrics: () => state.metrics(),
    setFaults(next) {
      if (next !== undefined && typeof next !== 'function') validateFaults(next);
      state.faults = next;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        state.engine.stop();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
