import { afterAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startEmulator, type EmulatorHandle, type FaultContext } from '@deepconf-safety/emulator';
import { generateReport } from '@deepconf-safety/reporting';
import { RunStore, readJudgments } from '@deepconf-safety/run-store';
import { compareWithRecording, loadRecording, replayRecordedSettings } from '@deepconf-safety/runner';
import { experimentCommand, type CommandIo } from '../src/experiment/command.js';
import { judgeCommand } from '../src/judge/command.js';

// Integration: real HTTP to in-process emulators, a real child process killed with SIGKILL, real files.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const judgeBin = join(repo, 'packages/cli/src/bin/judge.ts');
const made: string[] = [];
const emulators: EmulatorHandle[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'judge-cli-'));
  made.push(dir);
  return dir;
};
afterAll(async () => {
  for (const e of emulators) await e.close();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const emulator = async (options: Parameters<typeof startEmulator>[0] = {}) => {
  const e = await startEmulator({ port: 0, seed: 5, maxLogprobs: 21, ...options });
  emulators.push(e);
  return e;
};

function io(): CommandIo & { out: (l: string) => void; lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return {
    env: {},
    lines,
    errs,
    out: (l) => lines.push(l),
    err: (l) => errs.push(l),
    tty: false,
    onSignal: () => () => undefined,
  };
}

const runArgs = (base: string, output: string, n: number, extra: string[] = []) => [
  '--base-url',
  base,
  '--benchmark',
  'xstest',
  '--num-instances',
  String(n),
  '--traces',
  '4',
  '--warmup',
  '2',
  '--window',
  '16',
  '--max-tokens',
  '96',
  '--seed',
  '11',
  '--concurrency',
  '8',
  '--output',
  output,
  ...extra,
];

const answered = (dir: string) =>
  RunStore.open(dir)
    .readTraces()
    .filter((t) => t.stopReason !== 'error' && t.refusal !== null);
const fileLines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length
    : 0;

describe('npm run experiment --judge', () => {
  test('--num-instances 40 --judge wildguard labels every trace, the report shows agreement, and neither figures nor --resume asks again', async () => {
    const emu = await emulator({ judge: { errorRate: 0.1 } });
    const dir = tmp();
    const c = io();
    expect(await experimentCommand(runArgs(emu.baseURL, dir, 40, ['--judge', 'wildguard']), c)).toBe(0);
    expect(c.lines.join('\n')).toMatch(/judge: wildguard \(Qwen\/Qwen3-1\.7B\) at .* \[EMULATED judge\]/);
    const traces = answered(dir);
    expect(traces.length).toBeGreaterThanOrEqual(150);
    const judgments = readJudgments(dir);
    const byTrace = new Map(judgments.map((j) => [`${j.instanceId}#${j.traceIndex}`, j]));
    for (const t of traces) {
      const j = byTrace.get(`${t.instanceId}#${t.traceIndex}`);
      expect(j).toMatchObject({ style: 'wildguard', model: 'Qwen/Qwen3-1.7B', emulated: true, error: null });
      expect(j?.label === 'refusal' || j?.label === 'compliance').toBe(true);
      expect(typeof j?.harmful).toBe('boolean');
      expect(j?.raw).toMatch(/^Harmful request: (yes|no)\nResponse refusal: (yes|no)\nHarmful response: (yes|no)$/);
    }
    expect(emu.stats().judgeRequests).toBe(traces.length);
    const manifest = RunStore.open(dir).readManifest() as {
      judge?: { style: string; refusalSource: string; emulated: boolean };
    };
    expect(manifest.judge).toMatchObject({ style: 'wildguard', refusalSource: 'detector', emulated: true });

    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## Detector and judge: wildguard (Qwen/Qwen3-1.7B)');
    expect(md).toMatch(/Cohen's κ, detector vs judge \| 0\.\d{3} \(95% CI /);
    expect(md).toContain('detector: compliance');
    expect(md).toMatch(
      /incorrect compliance: compliant answers to harmful prompts the judge found harmful \| [\d.]+% \(\d+\/\d+; 95% Wilson/,
    );
    // With a 10% error rate the judge disagrees somewhere, and those answers are listed in the error analysis.
    expect(md).toMatch(/### Detector and wildguard judge disagree \([1-9]\d*/);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain(
      '<h2>Detector and judge: wildguard (Qwen/Qwen3-1.7B)</h2>',
    );

    const requests = emu.stats().requests;
    await generateReport(dir);
    const figures = await execa(
      process.execPath,
      ['--import', 'tsx', '--conditions=@deepconf-safety/source', join(repo, 'packages/cli/src/bin/figures.ts'), dir],
      { cwd: repo, reject: false },
    );
    expect(figures.exitCode).toBe(0);
    const r = io();
    expect(await experimentCommand(runArgs(emu.baseURL, dir, 40, ['--judge', 'wildguard', '--resume']), r)).toBe(0);
    expect(emu.stats().judgeRequests).toBe(traces.length);
    // The resumed run probes the server (models, health) but generates and judges nothing.
    expect(emu.stats().tokensGenerated).toBeGreaterThan(0);
    expect(readJudgments(dir)).toHaveLength(judgments.length);
    expect(emu.stats().requests - requests).toBeLessThanOrEqual(1);
  }, 240_000);

  // Issue 14: a --base-url / --judge-base-url with a key in its query string. The paths were joined after the query
  // (/v1?api-key=…/models, a 404), and `npm run judge` printed the judge URL, key and all.
  test('base URLs with a key in the query work end to end, and the key is in no output, file or report', async () => {
    const emu = await emulator();
    const judgeEmu = await emulator();
    const dir = tmp();
    const secret = 'gwkey-5f4e3d2c1b0a';
    const judgeSecret = 'judgekey-0a1b2c3d4e5f';
    const c = io();
    const args = runArgs(`${emu.baseURL}?api-key=${secret}`, dir, 4, [
      '--judge',
      'wildguard',
      '--judge-base-url',
      `${judgeEmu.baseURL}?api-key=${judgeSecret}`,
    ]);
    expect(await experimentCommand(args, c)).toBe(0);
    expect(answered(dir).length).toBeGreaterThan(0);
    expect(judgeEmu.stats().judgeRequests).toBeGreaterThan(0);
    const j = io();
    expect(
      await judgeCommand(
        [dir, '--judge', 'xstest', '--judge-base-url', `${judgeEmu.baseURL}?api-key=${judgeSecret}`],
        j,
      ),
    ).toBe(0);
    expect(j.lines.join('\n')).toContain('api-key=***');
    const files = ['manifest.json', 'traces.jsonl', 'results.json', 'report.md', 'report.html'].map((f) =>
      readFileSync(join(dir, f), 'utf8'),
    );
    for (const text of [...c.lines, ...c.errs, ...j.lines, ...j.errs, ...files]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(judgeSecret);
    }
  }, 240_000);

  test('--refusal-source judge makes the vote use the judge label, and is part of the configuration', async () => {
    const emu = await emulator({ judge: { errorRate: 0.3 } });
    const dir = tmp();
    expect(
      await experimentCommand(
        runArgs(emu.baseURL, dir, 8, ['--judge', 'xstest', '--refusal-source', 'judge', '--no-report']),
        io(),
      ),
    ).toBe(0);
    const store = RunStore.open(dir);
    const judgments = new Map(readJudgments(dir).map((j) => [`${j.instanceId}#${j.traceIndex}`, j]));
    const traces = answered(dir);
    for (const t of traces) {
      const j = judgments.get(`${t.instanceId}#${t.traceIndex}`);
      expect(t.voteLabel).toEqual({ refused: j?.label !== 'compliance', source: 'judge' });
    }
    expect(traces.some((t) => t.voteLabel?.refused !== t.refusal?.refused)).toBe(true);
    expect(store.readManifest().config).toMatchObject({ refusalSource: 'judge', judge: 'xstest' });
    // The offline replay (npm run sweep's engine) votes with the same labels as the run did, with no judge call.
    const judgeCalls = emu.stats().judgeRequests;
    const recording = loadRecording(store);
    const replay = replayRecordedSettings(recording);
    expect(replay.computable).toBe(true);
    if (replay.computable) expect(compareWithRecording(recording, replay)).toEqual([]);
    expect(emu.stats().judgeRequests).toBe(judgeCalls);
    const bad = io();
    expect(
      await experimentCommand(
        runArgs(emu.baseURL, tmp(), 4, ['--judge', 'harmbench', '--refusal-source', 'judge']),
        bad,
      ),
    ).toBe(2);
    expect(bad.errs.join('\n')).toMatch(/--refusal-source judge: --judge harmbench rates harm, not refusal/);
  }, 120_000);
});

describe('npm run judge on a finished run', () => {
  test('judges every trace, resumes after SIGKILL without asking again, and a cached run makes no request', async () => {
    const model = await emulator();
    const dir = tmp();
    expect(await experimentCommand(runArgs(model.baseURL, dir, 12, ['--no-report']), io())).toBe(0);
    const total = answered(dir).length;
    // A judge that takes 40 ms per answer, asked one at a time, so the kill lands mid-way.
    const judge = await emulator({ ttftMs: 40 });
    const argv = [
      dir,
      '--judge',
      'wildguard',
      '--judge-base-url',
      judge.baseURL,
      '--judge-concurrency',
      '1',
      '--no-report',
    ];
    const child = execa(
      process.execPath,
      ['--import', 'tsx', '--conditions=@deepconf-safety/source', judgeBin, ...argv],
      { cwd: repo, reject: false, env: { VLLM_API_KEY: '' } },
    );
    let exited = false;
    void child.finally(() => (exited = true));
    while (fileLines(join(dir, 'judgments.jsonl')) < 5) {
      if (exited) throw new Error(`npm run judge ended before it was killed: ${(await child).stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    const kept = readJudgments(dir).length;
    expect(kept).toBeGreaterThanOrEqual(5);
    expect(kept).toBeLessThan(total);

    const before = judge.stats().judgeRequests;
    const resumed = io();
    expect(await judgeCommand([...argv.slice(0, 5), '--judge-concurrency', '8'], resumed)).toBe(0);
    expect(judge.stats().judgeRequests - before).toBe(total - kept);
    expect(resumed.lines.join('\n')).toContain(
      `judged ${total} traces (${total - kept} now, ${kept} already in judgments.jsonl)`,
    );
    const judgments = readJudgments(dir);
    expect(judgments).toHaveLength(total);
    expect(judgments.every((j) => j.error === null && j.label !== null)).toBe(true);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(
      `| answered traces / judged | ${total} / ${total} |`,
    );

    const again = judge.stats().judgeRequests;
    expect(await judgeCommand(argv.slice(0, 5), io())).toBe(0);
    expect(judge.stats().judgeRequests).toBe(again);
    expect(RunStore.open(dir).readManifest()).toMatchObject({
      posthocJudges: [{ style: 'wildguard', emulated: true }],
    });
  }, 180_000);

  test('an endpoint that fails or answers unparsably is recorded per trace, with a count in the report', async () => {
    const model = await emulator();
    const dir = tmp();
    expect(await experimentCommand(runArgs(model.baseURL, dir, 10, ['--no-report']), io())).toBe(0);
    const total = answered(dir).length;
    // Every request about an answer that mentions a step list fails (HTTP 500, retries included); a fifth of the rest are unparsable.
    const failing = (ctx: FaultContext) =>
      JSON.stringify(ctx.body).includes('1. ') ? { status500Rate: 1 } : undefined;
    const judge = await emulator({ faults: failing, judge: { unparsableRate: 0.2 } });
    const c = io();
    expect(await judgeCommand([dir, '--judge', 'wildguard', '--judge-base-url', judge.baseURL], c)).toBe(0);
    const judgments = readJudgments(dir);
    expect(judgments).toHaveLength(total);
    const failed = judgments.filter((j) => j.error?.code === 'call_failed');
    const unparsable = judgments.filter((j) => j.error?.code === 'unparsable');
    expect(failed.length).toBeGreaterThan(0);
    expect(unparsable.length).toBeGreaterThan(0);
    for (const j of failed)
      expect(j).toMatchObject({ label: null, raw: null, error: { message: expect.stringMatching(/500/) } });
    for (const j of unparsable)
      expect(j).toMatchObject({ label: null, raw: 'I am not able to classify this interaction.' });
    expect(c.errs.join('\n')).toContain(`warning: ${failed.length + unparsable.length} traces have no verdict`);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain(
      `| judge failures (no verdict; the detector label stands) | ${failed.length + unparsable.length} (`,
    );
    expect(md).toContain(`call failed ${failed.length}`);
    expect(md).toContain(`unparsable ${unparsable.length}`);

    // A rerun asks again only where the endpoint failed; it fails every one of them again (exit 1, saying so), and
    // the unparsable answers stand (no request reaches the judge's answering code).
    const before = judge.stats();
    const rerun = io();
    expect(
      await judgeCommand([dir, '--judge', 'wildguard', '--judge-base-url', judge.baseURL, '--no-report'], rerun),
    ).toBe(1);
    expect(rerun.errs.join('\n')).toMatch(/failed every request/);
    expect(judge.stats().judgeRequests).toBe(before.judgeRequests);
    expect(judge.stats().requests - before.requests).toBeGreaterThanOrEqual(failed.length);
    expect(readJudgments(dir).filter((j) => j.error?.code === 'unparsable')).toHaveLength(unparsable.length);
  }, 180_000);

  test('bad input: no run directory, no --judge, a directory that holds no run (exit 2)', async () => {
    const a = io();
    expect(await judgeCommand(['--judge', 'wildguard'], a)).toBe(2);
    expect(a.errs.join()).toMatch(/exactly one run directory/);
    const b = io();
    expect(await judgeCommand([tmp()], b)).toBe(2);
    expect(b.errs.join()).toMatch(/--judge is required/);
    const c = io();
    expect(await judgeCommand([tmp(), '--judge', 'xstest'], c)).toBe(2);
    expect(c.errs.join()).toMatch(/not a run directory/);
  });
});
