import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { RunStore } from '@deepconf-safety/run-store';
import { experimentInProcess } from './support/experiment-run.js';

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'experiment-server-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const small = [
  '--num-instances',
  '4',
  '--traces',
  '2',
  '--warmup',
  '1',
  '--window',
  '8',
  '--max-tokens',
  '48',
  '--no-report',
  '--concurrency',
  '8',
];

const run = (argv: string[], deployStateDir: string, env: Record<string, string> = {}) =>
  experimentInProcess(argv, { deployStateDir, env });

describe('where the experiment sends its traces', () => {
  let emulator: EmulatorHandle;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, maxLogprobs: 21, apiKey: 'sk-test-secret' });
  });
  afterAll(async () => {
    await emulator.close();
  });

  test('with no --base-url and no deployment it starts the emulator and says so first, in the manifest and in results.json', async () => {
    const output = join(tmp(), 'run');
    const r = await run([...small, '--output', output], tmp());
    expect(r.err).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.out.slice(0, 3).join('\n')).toMatch(/EMULATED RUN/);
    const store = RunStore.open(output);
    expect(store.readManifest()).toMatchObject({
      emulated: true,
      status: 'completed',
      server: { emulated: true, origin: 'emulator' },
      config: { numInstances: 4 },
      derived: { server: 'emulator' },
    });
    expect(store.readResults()).toMatchObject({ emulated: true, overall: { instances: 4 } });
  });

  test('a deployment recorded by deploy:lambda is used, its cost goes into the manifest, and the API key never reaches the run store', async () => {
    const state = tmp();
    mkdirSync(join(state, 'qwen'));
    const startedAt = new Date(Date.now() - 3_600_000).toISOString();
    writeFileSync(
      join(state, 'qwen', 'deployment.json'),
      JSON.stringify({
        version: 1,
        name: 'qwen',
        provider: 'lambda',
        instanceId: 'i-1',
        region: 'us-east-1',
        instanceType: 'gpu_1x_a10',
        host: '203.0.113.7',
        sshUser: 'ubuntu',
        sshPort: 22,
        identityFile: null,
        model: 'Qwen/Qwen3-1.7B',
        servedModelName: 'Qwen/Qwen3-1.7B',
        endpoint: emulator.baseURL,
        localPort: 18000,
        remotePort: 8000,
        remoteDir: '/home/ubuntu/deepconf',
        startedAt,
        hourlyPriceUsd: 0.75,
        dataParallelSize: 1,
        tensorParallelSize: 1,
        lambdaApiUrl: null,
        tunnel: { maxAttempts: 5, backoffMs: 1000, serverAliveIntervalS: 15 },
      }),
    );
    const output = join(tmp(), 'run');
    const r = await run([...small, '--output', output, '--api-key-env', 'MY_KEY'], state, { MY_KEY: 'sk-test-secret' });
    expect(r.err).toEqual([]);
    expect(r.exitCode).toBe(0);
    const manifest = RunStore.open(output).readManifest();
    expect(manifest.server).toMatchObject({ origin: 'deployment', baseUrls: [emulator.baseURL] });
    expect(manifest.cost?.hourlyPriceUsd).toBe(0.75);
    expect(manifest.cost?.usd).toBeGreaterThanOrEqual(0.75);
    for (const f of ['manifest.json', 'traces.jsonl', 'instances.jsonl', 'results.json'])
      expect(readFileSync(join(output, f), 'utf8')).not.toContain('sk-test-secret');
    expect(r.out.join('\n')).not.toContain('sk-test-secret');
  });

  test('a wrong API key fails fast with a clear message that does not show the key', async () => {
    const output = join(tmp(), 'run');
    const r = await run([...small, '--output', output, '--base-url', emulator.baseURL], tmp(), {
      VLLM_API_KEY: 'sk-wrong-key',
    });
    expect(r.exitCode).toBe(1);
    expect(r.err.join('\n')).toMatch(/rejected the API key/);
    expect(r.err.join('\n')).not.toContain('sk-wrong-key');
  });
});

describe('stock servers and flaky streams', () => {
  test("a server with vLLM's default --max-logprobs 20 runs top-20 in chat-view mode with one warning; --max-logprobs 21 runs exact; 19 refuses an explicit --top-logprobs 20", async () => {
    const [stock, wide, narrow] = await Promise.all([
      startEmulator({ port: 0, maxLogprobs: 20 }),
      startEmulator({ port: 0, maxLogprobs: 21 }),
      startEmulator({ port: 0, maxLogprobs: 19 }),
    ]);
    try {
      const output = join(tmp(), 'run');
      const r = await run([...small, '--output', output, '--base-url', stock.baseURL], tmp());
      expect(r.exitCode).toBe(0);
      const warnings = r.err.filter((l) => l.startsWith('warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/at most 20 top_logprobs.*confidenceMode "chat-view".*--max-logprobs 21/);
      const manifest = RunStore.open(output).readManifest();
      expect(manifest.config.topLogprobs).toBe(20);
      expect(manifest.derived.confidenceMode).toBe('chat-view');
      expect(
        RunStore.open(output)
          .readTraces()
          .every((t) => t.stopReason !== 'error'),
      ).toBe(true);

      const exactOut = join(tmp(), 'run');
      const exact = await run([...small, '--output', exactOut, '--base-url', wide.baseURL], tmp());
      expect(exact.exitCode).toBe(0);
      expect(exact.err.filter((l) => l.startsWith('warning:'))).toEqual([]);
      expect(RunStore.open(exactOut).readManifest()).toMatchObject({
        config: { topLogprobs: 20 },
        derived: { confidenceMode: 'exact' },
      });

      const explicit = await run(
        [...small, '--output', join(tmp(), 'run'), '--base-url', narrow.baseURL, '--top-logprobs', '20'],
        tmp(),
      );
      expect(explicit.exitCode).toBe(2);
      expect(explicit.err.join('\n')).toMatch(
        /--top-logprobs 20: the server accepts at most 19 top_logprobs.*--max-logprobs 21, or pass --top-logprobs 19/,
      );
    } finally {
      await Promise.all([stock.close(), wide.close(), narrow.close()]);
    }
  });

  test('streams cut mid-way over HTTP are retried and the run completes without errors', async () => {
    const flaky = await startEmulator({
      port: 0,
      maxLogprobs: 21,
      faults: (ctx) => (ctx.requestIndex % 3 === 1 ? { cutStreamAfterTokens: 2 } : undefined),
    });
    try {
      const output = join(tmp(), 'run');
      const r = await run([...small, '--output', output, '--base-url', flaky.baseURL, '--retries', '4'], tmp());
      expect(r.exitCode).toBe(0);
      const traces = RunStore.open(output).readTraces();
      expect(traces.some((t) => t.attempts > 1)).toBe(true);
      expect(traces.every((t) => t.stopReason !== 'error')).toBe(true);
      expect(RunStore.open(output).readResults().overall.errors).toBe(0);
    } finally {
      await flaky.close();
    }
  });
});
