// A trace thread of ThreadedTraceSource: its own VllmClient, which applies the runner's stop rule per token here.
import { parentPort, workerData } from 'node:worker_threads';
import { VllmClient, isVllmClientError } from '@deepconf-safety/vllm-client';
import type { ThreadClientOptions } from './threaded-source.js';
import type { FromThread, ToThread } from './trace-thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('trace-thread.ts runs only as a worker thread of ThreadedTraceSource');
const { client: options } = workerData as { client: ThreadClientOptions };
const client = new VllmClient({ ...options, env: {} });
const running = new Map<number, AbortController>();
const send = (m: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', (m: ToThread) => {
  if (m.type === 'abort') {
    running.get(m.id)?.abort(new Error('aborted by the runner'));
    return;
  }
  const controller = new AbortController();
  running.set(m.id, controller);
  client
    .runTrace(m.request, {
      ...(m.stopRule === null ? {} : { stopRule: m.stopRule }),
      ...(m.maxRetries === null ? {} : { maxRetries: m.maxRetries }),
      signal: controller.signal,
    })
    .then(
      (r) => {
        const { text, reasoning, tokens, confidences, stopReason, stoppedAt, endpoint, latencyMs, ttftMs, attempts } =
          r;
        const result = {
          text,
          reasoning,
          tokens,
          confidences,
          stopReason,
          stoppedAt,
          endpoint,
          latencyMs,
          ttftMs,
          attempts,
        };
        send({ type: 'done', id: m.id, result }, [confidences.buffer as ArrayBuffer]);
      },
      (err: unknown) => {
        const error = isVllmClientError(err)
          ? err.toJSON()
          : { name: 'Error' as const, message: err instanceof Error ? err.message : String(err) };
        send({ type: 'error', id: m.id, error });
      },
    )
    .finally(() => running.delete(m.id));
});
send({ type: 'ready' });
