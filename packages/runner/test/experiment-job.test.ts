import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '@deepconf-safety/emulator';
import { RunStore, runConfig, type RunConfigInput } from '@deepconf-safety/run-store';
import {
  ExperimentJobFailure,
  RunnerConfigError,
  defaultOutput,
  runExperimentJob,
  type ExperimentJobIo,
  type ServerChoice,
} from '@deepconf-safety/runner';

// runExperimentJob with every edge injected: the emulator as "the server the CLI chose", lines collected, a fixed clock.

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'job-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const small = (output: string, over: RunConfigInput = {}) =>
  runConfig({ numInstances: 4, traces: 4, warmup: 2, maxTokens: 48, seed: 3, output, report: false, ...over });

function jobIo(over: Partial<ExperimentJobIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let closed = 0;
  const io: ExperimentJobIo = {
    env: { VLLM_API_KEY: 'sk-never-shown' },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    openServer: async (): Promise<ServerChoice> => {
      const emu = await startEmulator({ port: 0, host: '127.0.0.1', seed: 3, tokensPerSecond: Infinity, ttftMs: 0 });
      return {
        baseUrls: [emu.baseURL],
        origin: 'emulator',
        close: async () => {
          closed++;
          await emu.close();
        },
        cost: async () => null,
      };
    },
    describeRun: async () => ({ versions: { 'deepconf-safety': 'test' }, gitCommit: null, harness: { by: 'test' } }),
    now: () => new Date('2026-01-02T03:04:05Z'),
    ...over,
  };
  return { io, out, err, closed: () => closed };
}

describe('runExperimentJob', () => {
  test('loads, probes, records the manifest, runs and summarises; closes the server it was given', async () => {
    const output = join(tmp(), 'run');
    const { io, out, err, closed } = jobIo();
    const outcome = await runExperimentJob(small(output), io);
    expect(err.join('\n')).toMatch(/^warning: the server accepts at most 20 top_logprobs/);
    expect(outcome).toMatchObject({ status: 'completed', output, emulated: true, instances: 4, health: null });
    if (outcome.status !== 'completed') throw new Error('not completed');
    expect(outcome.results.overall.instances).toBe(4);
    expect(out.join('\n')).toMatch(/EMULATED RUN/);
    expect(out.join('\n')).toMatch(/Starting run 20260102T030405-[0-9a-f]{8} in .*: 4 prompts of xstest x 4 traces/);
    expect(closed()).toBe(1);
    const store = RunStore.open(output);
    expect(store.readResults()).toEqual(outcome.results);
    const manifest = store.readManifest();
    expect(manifest).toMatchObject({
      status: 'completed',
      startedAt: '2026-01-02T03:04:05.000Z',
      finishedAt: '2026-01-02T03:04:05.000Z',
      emulated: true,
      gitCommit: null,
      harness: { by: 'test' },
      config: { numInstances: 4, topLogprobs: 20, output },
      // The emulator allows 20 top_logprobs, one short of the exact chat set: the job chose the chat view and said so.
      derived: { server: 'emulator', confidenceMode: 'chat-view' },
    });
    expect(manifest.versions).toMatchObject({ 'deepconf-safety': 'test', runStoreSchema: '1' });
  });

  test('an aborted signal ends it interrupted, resumable; the resumed run completes from where it stopped', async () => {
    const output = join(tmp(), 'run');
    const aborted = new AbortController();
    aborted.abort();
    const first = await runExperimentJob(small(output), jobIo({ signal: aborted.signal }).io);
    expect(first).toMatchObject({ status: 'interrupted', saved: 0, instances: 4 });
    if (first.status !== 'interrupted') throw new Error('not interrupted');
    expect(first.resumeCommand).toBe(`npm run experiment -- --output ${output} --resume`);
    expect(RunStore.open(output).readManifest()).toMatchObject({ status: 'interrupted', finishedAt: null });
    const resumed = jobIo();
    const second = await runExperimentJob(small(output, { resume: true }), resumed.io);
    expect(second.status).toBe('completed');
    expect(resumed.out.join('\n')).toMatch(/Resuming run/);
  });

  test('a failure is thrown as ExperimentJobFailure with the cause and the redaction; the server is closed', async () => {
    const { io, closed } = jobIo();
    const failure = await runExperimentJob(small(join(tmp(), 'run'), { benchmark: 'no-such-benchmark.csv' }), io).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ExperimentJobFailure);
    expect((failure as ExperimentJobFailure).output).toBeNull();
    expect((failure as ExperimentJobFailure).redact('key sk-never-shown')).toBe('key ***');
    expect(closed()).toBe(1);
    const retry = await runExperimentJob(small(join(tmp(), 'none'), { retryErrors: true, resume: true }), jobIo().io)
      .then(() => null)
      .catch((e: unknown) => (e as ExperimentJobFailure).error);
    expect(retry).toBeInstanceOf(RunnerConfigError);
    expect(String((retry as Error).message)).toMatch(/^--retry-errors: .*holds no run/);
  });

  test('the default run directory is results/<benchmark>_<n>', () => {
    expect(defaultOutput('xstest', 40)).toBe(join('results', 'xstest_40'));
    expect(defaultOutput('data/My Bench.csv', 7)).toBe(join('results', 'my_bench_7'));
  });
});
