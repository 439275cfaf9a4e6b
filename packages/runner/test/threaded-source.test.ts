import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBenchmark, sampleInstances } from '@deepconf-safety/datasets';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import {
  ServerFailureError,
  ThreadedTraceSource,
  TraceThreadError,
  runExperiment,
  type InstanceInput,
  type RunSettings,
  type TraceSource,
} from '@deepconf-safety/runner';
import { VllmClient, isVllmClientError } from '@deepconf-safety/vllm-client';
import { testSettings } from './test-settings.js';

// Traces run in worker threads must give the very run a single-threaded client gives: same stops, same confidences,
// same decisions. Real HTTP against the in-process emulator, real threads.
const SEED = 5;
const MODEL = 'Qwen/Qwen3-1.7B';
const settings: RunSettings = testSettings(SEED);

let emulator: EmulatorHandle;
let instances: InstanceInput[];

async function run(source: TraceSource, signal?: AbortSignal) {
  const dir = mkdtempSync(join(tmpdir(), 'threaded-'));
  const { store } = RunStore.create(
    dir,
    {
      runId: 'threads',
      startedAt: new Date(0).toISOString(),
      config: runConfig(),
      versions: {},
      gitCommit: null,
      server: { emulated: true, baseUrls: [emulator.baseURL] },
      emulated: true,
    },
    { resume: false },
  );
  const outcome = await runExperiment({
    instances,
    settings,
    source,
    store,
    emulated: true,
    concurrency: 24,
    ...(signal ? { signal } : {}),
  });
  store.close();
  const traces = readFileSync(join(dir, 'traces.jsonl'), 'utf8')
    .split('\n')
    // An interrupted run may have written no trace yet.
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ instanceId, traceIndex, stopReason, stoppedAtToken, tokens, confidences, lowestGroup, refusal }) => ({
      instanceId,
      traceIndex,
      stopReason,
      stoppedAtToken,
      tokens,
      confidences,
      lowestGroup,
      refusal,
    }))
    .sort(
      (a, b) => String(a.instanceId).localeCompare(String(b.instanceId)) || Number(a.traceIndex) - Number(b.traceIndex),
    );
  return { outcome, traces };
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', seed: SEED, maxLogprobs: 21 });
  const { records } = await loadBenchmark('xstest');
  instances = sampleInstances(records, { n: 10, seed: SEED }).map((r) => ({
    id: r.id,
    prompt: r.prompt,
    shouldRefuse: r.shouldRefuse,
    category: r.category,
    source: r.source,
  }));
}, 30_000);

afterAll(async () => {
  await emulator?.close();
});

describe('ThreadedTraceSource', () => {
  test('two trace threads give the run one client gives: stops, confidences, decisions', async () => {
    const single = await run(new VllmClient({ baseURLs: [emulator.baseURL], model: MODEL, env: {} }));
    const threaded = await ThreadedTraceSource.start({
      threads: 2,
      client: { baseURLs: [emulator.baseURL], model: MODEL },
    });
    try {
      const multi = await run(threaded);
      expect(single.outcome.status).toBe('completed');
      expect(multi.outcome.status).toBe('completed');
      // Early stopping happened for real, so the stop rule applied in the threads was exercised.
      expect(single.traces.filter((t) => t.stopReason === 'early_stopped').length).toBeGreaterThan(0);
      expect(multi.traces).toEqual(single.traces);
      expect(multi.outcome.results?.overall).toEqual(single.outcome.results?.overall);
      expect(multi.outcome.results?.instances).toEqual(single.outcome.results?.instances);
      // Both threads carried traces: each event loop was busy for part of the run.
      const busy = threaded.eventLoopUtilization().map((u) => u.utilization);
      expect(busy).toHaveLength(2);
      for (const u of busy) expect(u > 0 && u < 1).toBe(true);
    } finally {
      await threaded.close();
    }
  }, 60_000);

  test('an interrupt aborts the traces in the threads and leaves a resumable run', async () => {
    const threaded = await ThreadedTraceSource.start({
      threads: 2,
      client: { baseURLs: [emulator.baseURL], model: MODEL },
    });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 150);
      const { outcome } = await run(threaded, controller.signal);
      expect(outcome.status).toBe('interrupted');
      // The threads are still usable: nothing was left half-done in them.
      const again = await threaded.runTrace(
        {
          prompt: 'hello',
          maxTokens: 8,
          temperature: 0.6,
          topP: 0.95,
          topK: 20,
          seed: 1,
          topLogprobs: 20,
          thinking: false,
        },
        { stopRule: { window: 4, threshold: null } },
      );
      expect(again.tokens).toBeGreaterThan(0);
    } finally {
      await threaded.close();
    }
  }, 60_000);

  test('a server refusal in a thread reaches the runner by name (unknown model: no retry loop)', async () => {
    const threaded = await ThreadedTraceSource.start({
      threads: 1,
      client: { baseURLs: [emulator.baseURL], model: 'no/such-model', maxRetries: 0 },
    });
    try {
      await expect(run(threaded)).rejects.toThrow(ServerFailureError);
    } finally {
      await threaded.close();
    }
  }, 60_000);

  test('a client error crosses the thread as data (a VllmClientError with its code), and threads must be ≥ 1', async () => {
    const threaded = await ThreadedTraceSource.start({
      threads: 1,
      client: { baseURLs: [emulator.baseURL], model: MODEL },
    });
    try {
      const req = {
        prompt: 'x',
        maxTokens: 4,
        temperature: 0.6,
        topP: 0.95,
        topK: 20,
        seed: 1,
        topLogprobs: 0,
        thinking: false,
      };
      const err = await threaded.runTrace(req, { maxRetries: 0 }).catch((e: unknown) => e);
      expect(isVllmClientError(err)).toBe(true);
      expect(err).toMatchObject({ code: 'config', message: expect.stringMatching(/topLogprobs must be an integer/) });
    } finally {
      await threaded.close();
    }
    await expect(
      ThreadedTraceSource.start({ threads: 0, client: { baseURLs: [emulator.baseURL], model: MODEL } }),
    ).rejects.toThrow(/threads: must be a positive integer/);
  }, 30_000);

  test('a thread that cannot build its client fails the start, naming the thread and the reason', async () => {
    const start = ThreadedTraceSource.start({ threads: 2, client: { baseURLs: [emulator.baseURL], model: '' } });
    await expect(start).rejects.toThrow(TraceThreadError);
    await expect(start).rejects.toThrow(/trace thread \d failed: .*option "model" must be the served model name/);
  }, 30_000);
});
