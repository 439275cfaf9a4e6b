import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import { ThreadedTraceSource, runExperiment, type InstanceInput, type TraceSource } from '@deepconf-safety/runner';
import { VllmClient } from '@deepconf-safety/vllm-client';
import { startMisbehavingServer, type MisbehavingServer } from '../../vllm-client/test/support/misbehaving.js';
import { testSettings } from './test-settings.js';

// Integration (issue 14, principle 2): retries are counted once. Against a real server (its own process) that
// answers 500 to every request, a run with maxAttempts N + 1 (the CLI's --retries N) sends exactly N + 1 requests
// per trace, through the client in this thread or in trace threads, and traces.jsonl records them as attempts.

let server: MisbehavingServer;
beforeAll(async () => {
  server = await startMisbehavingServer();
});
afterAll(async () => {
  await server?.close();
});

const instances: InstanceInput[] = ['a', 'b'].map((id) => ({
  id,
  prompt: `prompt ${id}`,
  shouldRefuse: true,
  category: 'c',
  source: 's',
}));
const settings = testSettings(3, { traces: 2, warmup: 1 });
// A client whose own default (3 retries) the run's budget must override; no backoff to speak of.
const clientOptions = { model: 'm', retryBaseMs: 1, retryMaxMs: 2, reprobeAfterMs: 0 };

async function run(source: TraceSource, maxAttempts: number) {
  const before = (await server.counts())['always-500'] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'retries-http-'));
  const { store } = RunStore.create(
    dir,
    {
      runId: 'retries',
      startedAt: new Date(0).toISOString(),
      config: runConfig(),
      versions: {},
      gitCommit: null,
      server: { emulated: false, baseUrls: [server.url('always-500')] },
      emulated: false,
    },
    { resume: false },
  );
  await runExperiment({
    instances,
    settings,
    source,
    store,
    emulated: false,
    concurrency: 2,
    maxAttempts,
    maxConsecutiveErrors: 1_000,
  });
  store.close();
  const requests = ((await server.counts())['always-500'] ?? 0) - before;
  return { requests, traces: store.readTraces() };
}

describe.each([
  [
    'a client in this thread',
    async () => new VllmClient({ ...clientOptions, baseURLs: [server.url('always-500')], env: {} }),
  ],
  [
    'trace threads',
    async () =>
      ThreadedTraceSource.start({ threads: 1, client: { ...clientOptions, baseURLs: [server.url('always-500')] } }),
  ],
] as const)('--retries N against a server that fails every request (%s)', (_name, make) => {
  test.each([0, 2])(
    'retries %i: at most N + 1 requests per trace, and attempts in the store equal them',
    async (retries) => {
      const source = await make();
      try {
        const { requests, traces } = await run(source, retries + 1);
        // Warmups fail, so the prompt has no threshold and its final traces run too: every trace is attempted.
        expect(traces).toHaveLength(instances.length * settings.traces);
        expect(requests).toBe(traces.length * (retries + 1));
        for (const t of traces) {
          expect(t).toMatchObject({ stopReason: 'error', attempts: retries + 1 });
          expect(t.error).toMatch(/^server: vLLM at .* answered HTTP 500: engine busy/);
        }
      } finally {
        if (source instanceof ThreadedTraceSource) await source.close();
      }
    },
    60_000,
  );
});
