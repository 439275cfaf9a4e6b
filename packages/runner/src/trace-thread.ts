// A trace thread of ThreadedTraceSource: its own VllmClient, the runner's stop rule applied per token here.
import { parentPort, workerData } from 'node:worker_threads';
import { StopMonitor } from '@deepconf-safety/confidence';
import { VllmClient } from '@deepconf-safety/vllm-client';
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
  const monitor = new StopMonitor(m.stopRule.window, m.stopRule.threshold);
  client
    .runTrace(m.request, {
      // As the runner's own onToken: positions without logprob data are skipped.
      onToken: (t) => !Number.isNaN(t.confidence) && monitor.push(t.confidence),
      signal: controller.signal,
    })
    .then(
      (r) => {
        const { text, reasoning, tokens, confidences, finishReason, stoppedAt, endpoint, latencyMs, ttftMs } = r;
        send({ type: 'done', id: m.id, result: { text, reasoning, tokens, confidences, finishReason, stoppedAt, endpoint, latencyMs, ttftMs } }, [confidences.buffer as ArrayBuffer]);
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        send({ type: 'error', id: m.id, error: { name: e.name, message: e.message } });
      },
    )
    .finally(() => running.delete(m.id));
});
send({ type: 'ready' });
