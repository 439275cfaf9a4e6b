import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { computeMetrics, wilsonInterval } from '@deepconf-safety/reporting';
import { RunStore } from '@deepconf-safety/run-store';
import { experimentInProcess } from './support/experiment-run.js';

// Integration: the real CLI in a child process, real HTTP to an in-process emulator on loopback.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/src/bin/experiment.ts');
const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'experiment-cli-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

// Usually well under 15 s; the margin is for a loaded CI machine starting child processes.
const CHILD_TIMEOUT_MS = 90_000;

let emulator: EmulatorHandle;
beforeAll(async () => {
  // Slow enough per sequence that a run lasts a few seconds and can be killed mid-way.
  emulator = await startEmulator({ port: 0, seed: 3, tokensPerSecond: 400, maxLogprobs: 21 });
});
afterAll(async () => {
  await emulator.close();
});

const args = (output: string, extra: string[] = [], traces = 4, instances = 12, warmup = 2) => [
  '--base-url',
  emulator.baseURL,
  '--benchmark',
  'xstest',
  '--num-instances',
  String(instances),
  '--traces',
  String(traces),
  '--warmup',
  String(warmup),
  '--window',
  '16',
  '--max-tokens',
  '96',
  '--seed',
  '11',
  '--concurrency',
  '4',
  '--no-report',
  '--output',
  output,
  ...extra,
];

function cli(argv: string[]) {
  // node --import tsx keeps the CLI in this one process, so a signal reaches the CLI itself.
  return execa(process.execPath, ['--import', 'tsx', '--conditions=@deepconf-safety/source', bin, ...argv], {
    cwd: repo,
    reject: false,
    env: { VLLM_API_KEY: '' },
  });
}

/** The same command in this process (no child start-up cost) for the runs that are not killed. */
async function inProcess(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { exitCode, out, err } = await experimentInProcess(argv);
  return { exitCode, stdout: out.join('\n'), stderr: err.join('\n') };
}

const lines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length
    : 0;

async function whenLines(file: string, n: number, child: Promise<unknown>): Promise<void> {
  let exited = false;
  void child.finally(() => (exited = true));
  while (lines(file) < n) {
    if (exited) throw new Error(`the run ended before ${file} had ${n} lines`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function when(ready: () => boolean, child: Promise<unknown>): Promise<void> {
  let exited = false;
  void child.finally(() => (exited = true));
  while (!ready()) {
    if (exited) throw new Error('the run ended before the moment to kill it');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sortById = <T extends { instanceId: string }>(rs: T[]) =>
  [...rs].sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));

describe('npm run experiment against the emulator over HTTP', () => {
  test(
    'a run killed with SIGKILL resumes to the same results as an uninterrupted run with the same seed',
    async () => {
      const refDir = tmp();
      const killDir = tmp();
      const killed = cli(args(killDir));
      const reference = inProcess(args(refDir));
      await whenLines(join(killDir, 'instances.jsonl'), 3, killed);
      killed.kill('SIGKILL');
      const k = await killed;
      expect(k.signal).toBe('SIGKILL');
      const partial = lines(join(killDir, 'instances.jsonl'));
      expect(partial).toBeLessThan(12);
      expect(RunStore.open(killDir).readManifest().status).toBe('running');

      const refused = await inProcess(args(killDir));
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/--resume/);

      const resumed = await inProcess(args(killDir, ['--resume']));
      expect(resumed.stderr).toBe('');
      expect(resumed.exitCode).toBe(0);
      expect(resumed.stdout).toMatch(/Resuming run/);
      const ref = await reference;
      expect(ref.exitCode).toBe(0);
      expect(ref.stdout.split('\n').slice(0, 3).join('\n')).toMatch(/EMULATED RUN/);

      const a = RunStore.open(refDir);
      const b = RunStore.open(killDir);
      expect(sortById(b.readInstances())).toEqual(sortById(a.readInstances()));
      expect(b.readResults()).toEqual(a.readResults());
      expect(b.readResults().emulated).toBe(true);
      // Early stopping really aborted requests over HTTP.
      expect(b.readResults().overall.early_stopped).toBeGreaterThan(0);
      expect(emulator.stats().abortedRequests).toBeGreaterThan(0);
      // One early-stop rate: results.json, the report's metrics and the CLI summary line count stopped / final traces.
      const finals = a.readTraces().filter((t) => t.phase === 'final' && t.stopReason !== 'error');
      const rate = finals.filter((t) => t.stopReason === 'early_stopped').length / finals.length;
      expect(finals.length).toBeLessThan(a.readTraces().length);
      expect(a.readResults().overall.early_stop_rate).toBeCloseTo(rate, 12);
      expect(computeMetrics(a).earlyStop.value).toBeCloseTo(rate, 12);
      expect(ref.stdout).toContain(`early-stop rate ${(100 * rate).toFixed(1)}% of final traces`);
      // No finished prompt was redone: each appears once in instances.jsonl; no trace is duplicated.
      expect(lines(b.path('instances'))).toBe(12);
      expect(lines(b.path('traces'))).toBe(b.readTraces().length);
      expect(b.readTraces()).toHaveLength(48);
      const manifest = b.readManifest();
      expect(manifest).toMatchObject({ status: 'completed', emulated: true, server: { emulated: true } });
      expect(manifest.configHash).toBe(a.readManifest().configHash);

      const mismatch = await inProcess(args(killDir, ['--resume'], 6));
      expect(mismatch.exitCode).toBe(1);
      expect(mismatch.stderr).toMatch(/different configuration.*traces: 4 → 6/);
    },
    CHILD_TIMEOUT_MS,
  );

  test(
    'the summary prints each estimate once, with its 95% interval and n, the same numbers as report.md',
    async () => {
      const dir = tmp();
      const r = await inProcess(args(dir).filter((a) => a !== '--no-report'));
      expect(r.exitCode).toBe(0);
      const stdout = r.stdout.split('\n');
      const prompts = stdout.find((l) => l.startsWith('prompts '));
      const tokens = stdout.find((l) => l.startsWith('tokens '));
      const m = computeMetrics(RunStore.open(dir));
      const wilson = (k: number, n: number, of: string) => {
        const ci = wilsonInterval(k, n);
        return `[${(100 * ci.lower).toFixed(1)}, ${(100 * ci.upper).toFixed(1)}] (${k}/${n} ${of}, Wilson 95%)`;
      };
      expect(prompts).toContain(
        `accuracy ${(100 * (m.accuracy.value ?? 0)).toFixed(1)}% ${wilson(m.accuracy.k, m.accuracy.n, 'decided prompts')}, errors 0`,
      );
      expect(tokens).toContain(
        `, early-stop rate ${(100 * (m.earlyStop.value ?? 0)).toFixed(1)}% ${wilson(m.earlyStop.k, m.earlyStop.n, 'final traces')}`,
      );
      // The savings interval is the report's: the same text stands in report.md (there with its brackets escaped).
      const savings = /: savings (\S+% \[[^\]]+\]) \(n = 12 prompts, bootstrap 95%\), /.exec(tokens ?? '')?.[1];
      expect(savings).toBeDefined();
      expect(readFileSync(join(dir, 'report.md'), 'utf8').replaceAll('\\', '')).toContain(savings as string);
      // Once: no second line of the same estimates (the progress lines before them show savings so far).
      const estimates = stdout.filter((l) => !l.startsWith('[experiment]') && /accuracy |savings /.test(l));
      expect(estimates).toEqual([prompts, tokens]);
      // --no-report: the plain estimates, and where to get their intervals.
      const noReport = (await inProcess(args(tmp()))).stdout.split('\n');
      expect(noReport.find((l) => l.startsWith('prompts '))).toMatch(
        /^prompts 12 \(\d+ decided\), accuracy [\d.]+%, errors 0$/,
      );
      expect(noReport.find((l) => l.startsWith('tokens '))).toMatch(
        /: savings [\d.-]+%, early-stop rate [\d.]+% of final traces$/,
      );
      expect(noReport).toContain(
        '95% intervals of these estimates: not computed with --no-report (npm run figures writes report.md)',
      );
    },
    CHILD_TIMEOUT_MS,
  );

  test(
    'adaptive sampling (--consensus): a run killed with SIGKILL resumes to the traces and results of an uninterrupted run',
    async () => {
      // 4 warmups + 6 finals per prompt: a prompt whose vote settles skips some finals, so a kill can leave a prompt
      // with some finals on disk and others not yet launched. The resumed consensus check must count those.
      const consensus = ['--consensus', '0.9', '--keep-percent', '90'];
      const refDir = tmp();
      const killDir = tmp();
      const reference = await inProcess(args(refDir, consensus, 10, 40, 4));
      expect(reference.exitCode).toBe(0);
      const a0 = RunStore.open(refDir);
      const killed = cli(args(killDir, consensus, 10, 40, 4));
      // Killed once a prompt has some finals on disk and more to come: the case the resumed check must get right.
      const finalsOf = (ts: { instanceId: string; phase: string }[]) => {
        const n = new Map<string, number>();
        for (const t of ts) if (t.phase === 'final') n.set(t.instanceId, (n.get(t.instanceId) ?? 0) + 1);
        return n;
      };
      const refFinals = finalsOf(a0.readTraces());
      // Read as raw lines (a live writer's last line may be torn; RunStore.open would repair it under the writer).
      const jsonl = (name: string) => {
        const file = join(killDir, name);
        if (!existsSync(file)) return [];
        return readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as { instanceId: string; phase: string }];
            } catch {
              return [];
            }
          });
      };
      try {
        await when(() => {
          const done = new Set(jsonl('instances.jsonl').map((r) => r.instanceId));
          return [...finalsOf(jsonl('traces.jsonl'))].some(([id, n]) => !done.has(id) && n < (refFinals.get(id) ?? 0));
        }, killed);
      } finally {
        killed.kill('SIGKILL');
      }
      expect((await killed).signal).toBe('SIGKILL');
      const resumed = await inProcess(args(killDir, [...consensus, '--resume'], 10, 40, 4));
      expect(resumed.exitCode).toBe(0);
      expect(resumed.stdout).toMatch(/Resuming run/);

      const a = RunStore.open(refDir);
      const b = RunStore.open(killDir);
      const skipped = a.readInstances().reduce((n, r) => n + (r.skipped ?? 0), 0);
      expect(skipped).toBeGreaterThan(0);
      expect(sortById(b.readInstances())).toEqual(sortById(a.readInstances()));
      expect(b.readResults()).toEqual(a.readResults());
      // The same traces were launched: none more after the resume, each with the same content (latency aside).
      // Text and refusal evidence included: an early-stopped trace keeps the text of its tokens up to the stop, not
      // whatever else its last chunk carried (how many tokens a chunk carries depends on timing; issue 15).
      const traces = (s: RunStore) =>
        s
          .readTraces()
          .map(({ latencyMs: _l, endpoint: _e, ...t }) => t)
          .sort((x, y) =>
            x.instanceId === y.instanceId ? x.traceIndex - y.traceIndex : x.instanceId < y.instanceId ? -1 : 1,
          );
      expect(traces(b)).toEqual(traces(a));
    },
    CHILD_TIMEOUT_MS,
  );

  test(
    '--client-threads 2 (traces streamed in worker threads) gives the results of one thread',
    async () => {
      const oneDir = tmp();
      const twoDir = tmp();
      const one = await inProcess(args(oneDir));
      // A real process, as users run it: the threads load the sources through tsx there too.
      const two = await cli(args(twoDir, ['--client-threads', '2']));
      expect(one.exitCode).toBe(0);
      expect(two.stderr).toBe('');
      expect(two.exitCode).toBe(0);
      expect(two.stdout).toContain('client: 2 trace threads');
      const a = RunStore.open(oneDir);
      const b = RunStore.open(twoDir);
      expect(b.readResults()).toEqual(a.readResults());
      expect(b.readResults().overall.early_stopped).toBeGreaterThan(0);
      expect(sortById(b.readInstances())).toEqual(sortById(a.readInstances()));
      expect(b.readManifest().configHash).toBe(a.readManifest().configHash);
      const bad = await inProcess(args(tmp(), ['--client-threads', '0']));
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toMatch(/--client-threads: must be an integer >= 1/);
    },
    CHILD_TIMEOUT_MS,
  );

  test(
    'Ctrl+C stops cleanly: manifest interrupted, exit 130, resumable',
    async () => {
      const dir = tmp();
      const child = cli(args(dir));
      await whenLines(join(dir, 'traces.jsonl'), 2, child);
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(r.stderr).toMatch(/--resume/);
      const store = RunStore.open(dir);
      expect(store.readManifest().status).toBe('interrupted');
      expect(store.hasResults()).toBe(false);
      expect(lines(store.path('traces'))).toBe(store.readTraces().length);
    },
    CHILD_TIMEOUT_MS,
  );
});
