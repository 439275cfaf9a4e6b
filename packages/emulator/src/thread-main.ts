// The emulator thread's entry (see thread.ts): starts the server, reports where it listens, closes when told.
import { parentPort, workerData } from 'node:worker_threads';
import { EmulatorListenError } from './errors.js';
import { startEmulator } from './server.js';
import type { EmulatorThreadOptions, FromEmulatorThread } from './thread.js';

const port = parentPort;
if (port === null) throw new Error('thread-main.ts runs only as the worker thread of startEmulatorThread');
const send = (m: FromEmulatorThread): void => port.postMessage(m);
const { options } = workerData as { options: EmulatorThreadOptions };

try {
  const handle = await startEmulator(options);
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'close') return;
    void handle.close().then(() => {
      send({ type: 'closed' });
      port.close();
    });
  });
  send({ type: 'ready', url: handle.url, port: handle.port, models: [...handle.models] });
} catch (error) {
  send({
    type: 'error',
    listen: error instanceof EmulatorListenError,
    message:
      error instanceof EmulatorListenError && error.cause instanceof Error
        ? error.cause.message
        : error instanceof Error
          ? error.message
          : String(error),
  });
  port.close();
}
