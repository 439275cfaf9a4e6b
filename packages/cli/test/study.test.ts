import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { RunStore, StudyFileSchema, type StudyFile } from '@deepconf-safety/run-store';
import { studyCommand } from '../src/study/command.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../src/bin/study.ts', import.meta.url));
const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'study-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const SMALL = { 'num-instances': 6, traces: 4, warmup: 2, window: 16, 'max-tokens': 96, concurrency: 4 };
const MODELS = ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-4B'];

function studyFile(dir: string, body: Record<string, unknown>): string {
  const file = join(dir, 'study.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 't',
      models: MODELS,
      benchmarks: ['xstest'],
      settings: { low: { 'keep-percent': 10 } },
      seeds: [1],
      options: SMALL,
      ...body,
    }),
  );
  return file;
}

async function inProcess(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const exitCode = await studyCommand(argv, {
    env: {},
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    tty: false,
    onSignal: () => () => undefined,
    deployStateDir: join(tmpdir(), 'no-such-deploy-dir'),
  });
  return { exitCode, stdout: out.join('\n'), stderr: err.join('\n') };
}

const readStudyJson = (dir: string): StudyFile =>
  StudyFileSchema.parse(JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')));

describe('npm run study: bad input is one line naming the key, exit 2', () => {
  test.each([
    [{ modles: ['x'] }, /study\.config\.json: \(top level\) Unrecognized key: "modles"/],
    [{ seeds: [] }, /seeds Too small/],
    [{ settings: { low: { seed: 3 } } }, /settings\.low\.seed is set by the study itself/],
    [
      { settings: { low: { 'keep-percent': 500 } } },
      /settings\.low \(with options\) is not a valid experiment: --keep-percent/,
    ],
    [
      { settings: { low: { 'bogus-flag': 1 } } },
      /settings\.low \(with options\) is not a valid experiment: Unknown arguments: bogus-flag/,
    ],
    [{ reference: 'high' }, /reference "high" is not one of the settings/],
  ])('%j', async (body, message) => {
    const dir = tmp();
    const r = await inProcess(['--config', studyFile(dir, body), '--output', join(dir, 'out')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('npm run study across endpoints', () => {
  let emus: EmulatorHandle[] = [];
  beforeAll(async () => {
    emus = await Promise.all(
      ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B', 'Qwen/Qwen3-4B'].map((model) =>
        startEmulator({ model, seed: 5, maxLogprobs: 21 }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(emus.map((e) => e.close()));
  });

  test("three emulators each serving one model get their own model's cells only, at the same time", async () => {
    const dir = tmp();
    const models = ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-1.7B', 'Qwen/Qwen3-4B'];
    const config = studyFile(dir, { models, endpoints: emus.map((e) => e.baseURL), seeds: [1, 2] });
    const out = join(dir, 'out');
    const r = await inProcess(['--config', config, '--output', out, '--no-report']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const study = readStudyJson(out);
    expect(study.cells).toHaveLength(6);
    for (const cell of study.cells) {
      const serving = emus[models.indexOf(cell.model)] as EmulatorHandle;
      expect(cell).toMatchObject({ state: 'done', endpoint: serving.baseURL });
      const manifest = RunStore.open(join(out, cell.id)).readManifest();
      expect(manifest.server.baseUrls).toEqual([serving.baseURL]);
      expect(manifest.config['model']).toBe(cell.model);
    }
    // Each emulator answered generation requests, none got a 404 for a model it does not serve.
    for (const e of emus) {
      expect(e.stats().completedRequests).toBeGreaterThan(0);
      expect(e.stats().rejectedRequests).toBe(0);
    }
    // Cells of different models overlapped in time: one per endpoint ran at once.
    const spans = study.cells.map(
      (c) => [Date.parse(c.startedAt as string), Date.parse(c.finishedAt as string)] as const,
    );
    const overlapping = spans.some(([s1, e1], i) =>
      spans.some(([s2, e2], j) => i !== j && study.cells[i]?.model !== study.cells[j]?.model && s1 < e2 && s2 < e1),
    );
    expect(overlapping).toBe(true);
  }, 180_000);

  test('a model no endpoint serves fails before any cell starts, naming the model and the endpoints asked', async () => {
    const dir = tmp();
    const only = emus[0] as EmulatorHandle;
    const before = only.stats().requests;
    const out = join(dir, 'out');
    const r = await inProcess([
      '--config',
      studyFile(dir, { models: ['Qwen/Qwen3-0.6B', 'org/missing-7B'] }),
      '--output',
      out,
      '--base-url',
      only.baseURL,
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('model "org/missing-7B" is served by none of the endpoints asked');
    expect(r.stderr).toContain(`${only.baseURL} serves Qwen/Qwen3-0.6B`);
    expect(only.stats().requests).toBe(before);
    expect(existsSync(out)).toBe(false);
  });
});

test('a --base-url with a key in its query: the endpoint check reaches /v1/models, and no line shows the key', async () => {
  const emu = await startEmulator({ servedModels: ['Qwen/Qwen3-0.6B'], seed: 2, maxLogprobs: 21 });
  try {
    const dir = tmp();
    const secret = 'studygwkey-1a2b3c4d5e';
    const r = await inProcess([
      '--config',
      studyFile(dir, { models: ['Qwen/Qwen3-0.6B', 'org/missing-7B'] }),
      '--output',
      join(dir, 'out'),
      '--base-url',
      `${emu.baseURL}?api-key=${secret}`,
    ]);
    expect(r.exitCode).toBe(2);
    // The query was kept on the right path: the endpoint answered with what it serves.
    expect(r.stderr).toContain('serves Qwen/Qwen3-0.6B');
    expect(`${r.stdout}\n${r.stderr}`).not.toContain(secret);
  } finally {
    await emu.close();
  }
});

describe('npm run study: budget and report warnings', () => {
  let emu: EmulatorHandle;
  beforeAll(async () => {
    emu = await startEmulator({ servedModels: ['Qwen/Qwen3-1.7B', 'other/Model-1.7B'], seed: 2, maxLogprobs: 21 });
  });
  afterAll(() => emu.close());

  test('--max-cost-usd stops launching cells once the projected cost would pass it; the report shows cost per cell and in total', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = studyFile(dir, { models: ['Qwen/Qwen3-1.7B'], seeds: [1, 2, 3, 4] });
    // A price so high that one measured cell already costs more than the budget leaves for a second.
    const r = await inProcess([
      '--config',
      config,
      '--output',
      out,
      '--base-url',
      emu.baseURL,
      '--gpu-price-usd-per-hour',
      '36000',
      '--max-cost-usd',
      '0.000001',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/budget: projected \$[\d.]+ would pass --max-cost-usd 0.000001/);
    expect(r.stderr).toMatch(/continue with --resume and a larger budget/);
    const study = readStudyJson(out);
    expect(study.status).toBe('budget_stopped');
    expect(study.cells.map((c) => c.state)).toEqual(['done', 'pending', 'pending', 'pending']);
    const cost = study.cells[0]?.costUsd as number;
    expect(cost).toBeCloseTo(((study.cells[0]?.gpuSeconds as number) * 36000) / 3600, 10);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`$${cost.toFixed(2)}`);
    expect(md).toMatch(/\| total \| 1\/4 done \|/);
    expect(md).toContain('3 cell(s) not finished and left out of the tables');
  }, 120_000);

  test('two names of one emulated behaviour: the report warns of identical results and of emulated cells, at the top', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = studyFile(dir, { models: ['Qwen/Qwen3-1.7B', 'other/Model-1.7B'] });
    const r = await inProcess(['--config', config, '--output', out, '--base-url', emu.baseURL]);
    expect(r.exitCode).toBe(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    const warnings = md.indexOf('## Warnings');
    expect(warnings).toBeGreaterThan(0);
    expect(warnings).toBeLessThan(md.indexOf('## Benchmark xstest'));
    expect(md).toContain('EMULATED MODEL');
    expect(md).toContain('2 of 2 cells ran on the built-in emulator');
    expect(md).toMatch(
      /identical per-prompt results .* in Qwen\\_Qwen3-1\.7B\/xstest\/low\/seed-1, other\\_Model-1\.7B\/xstest\/low\/seed-1/,
    );
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('class="warnings"');
    expect(html).toContain('<img src="figures/accuracy-tokens-xstest.png"');
    // The emulated notice opens the report, before its title; every table says what it holds, headers scoped.
    expect(md.indexOf('EMULATED MODEL')).toBeLessThan(md.indexOf('# Study'));
    expect(html.indexOf('class="alert"')).toBeLessThan(html.indexOf('<h1>'));
    expect(html.match(/<table><caption>/g)).toHaveLength(3);
    expect(html).toContain('<caption>xstest: every model × setting');
    expect(html).toMatch(/<caption>xstest: paired comparisons .*McNemar&#39;s exact test/);
    expect(html).toContain('<th scope="col">accuracy</th>');
    expect(html).toContain('<th scope="row">Qwen/Qwen3-1.7B (emulated)</th>');
  }, 120_000);
});

const lines = (file: string): number =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length
    : 0;

async function until(what: string, ok: () => boolean, child: Promise<unknown>, deadlineMs = 120_000): Promise<void> {
  let exited = false;
  void child.finally(() => (exited = true));
  const end = Date.now() + deadlineMs;
  while (!ok()) {
    if (exited) throw new Error(`the study ended before ${what}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function cellFiles(out: string, study: StudyFile): Record<string, string> {
  return Object.fromEntries(study.cells.map((c) => [c.id, readFileSync(join(out, c.id, 'results.json'), 'utf8')]));
}

describe('a study killed with SIGKILL', () => {
  let emu: EmulatorHandle;
  beforeAll(async () => {
    // Slow enough that the kill lands inside a cell.
    emu = await startEmulator({ servedModels: MODELS, seed: 8, tokensPerSecond: 600, maxLogprobs: 21 });
  });
  afterAll(() => emu.close());

  test('resumes with --resume to the same study results as an uninterrupted study; finished cells are untouched', async () => {
    const dir = tmp();
    const config = studyFile(dir, {
      settings: { low: { 'keep-percent': 10 }, baseline: { 'early-stop': false } },
      options: { ...SMALL, 'num-instances': 8 },
    });
    const killedDir = join(dir, 'killed');
    const child = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@deepconf-safety/source',
        bin,
        '--config',
        config,
        '--output',
        killedDir,
        '--base-url',
        emu.baseURL,
        '--no-report',
      ],
      { cwd: repo, reject: false, env: { VLLM_API_KEY: '' } },
    );
    const partialCell = (): boolean => {
      if (!existsSync(join(killedDir, 'study.json'))) return false;
      const s = readStudyJson(killedDir);
      const running = s.cells.find((c) => c.state === 'running');
      return (
        s.cells.some((c) => c.state === 'done') &&
        running !== undefined &&
        lines(join(killedDir, running.id, 'instances.jsonl')) >= 2
      );
    };
    await until('one cell was done and another half-way', partialCell, child);
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    const killed = readStudyJson(killedDir);
    const done = killed.cells.find((c) => c.state === 'done');
    const half = killed.cells.find((c) => c.state === 'running');
    if (done === undefined || half === undefined) throw new Error('no finished and no half-finished cell at the kill');
    const doneResults = readFileSync(join(killedDir, done.id, 'results.json'), 'utf8');
    const doneTraces = lines(join(killedDir, done.id, 'traces.jsonl'));
    const halfPrompts = lines(join(killedDir, half.id, 'instances.jsonl'));

    expect((await inProcess(['--config', config, '--output', killedDir, '--base-url', emu.baseURL])).stderr).toMatch(
      /already holds a study; add --resume/,
    );
    const resumed = await inProcess(['--config', config, '--output', killedDir, '--base-url', emu.baseURL, '--resume']);
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    const after = readStudyJson(killedDir);
    expect(after.status).toBe('completed');
    // The finished cell was not run again; the half-finished one kept its prompts and added the rest.
    expect(readFileSync(join(killedDir, done.id, 'results.json'), 'utf8')).toBe(doneResults);
    expect(lines(join(killedDir, done.id, 'traces.jsonl'))).toBe(doneTraces);
    expect(readFileSync(join(killedDir, half.id, 'study-cell.log'), 'utf8')).toMatch(/Resuming run/);
    expect(lines(join(killedDir, half.id, 'instances.jsonl'))).toBe(8);
    expect(halfPrompts).toBeGreaterThanOrEqual(2);

    const cleanDir = join(dir, 'clean');
    const clean = await inProcess(['--config', config, '--output', cleanDir, '--base-url', emu.baseURL]);
    expect(clean.exitCode).toBe(0);
    expect(cellFiles(killedDir, after)).toEqual(cellFiles(cleanDir, readStudyJson(cleanDir)));
    // The study report of the resumed study says what the uninterrupted one says.
    await inProcess(['--config', config, '--output', killedDir, '--base-url', emu.baseURL, '--resume']);
    expect(readFileSync(join(killedDir, 'summary.json'), 'utf8')).toBe(
      readFileSync(join(cleanDir, 'summary.json'), 'utf8'),
    );
    expect(readdirSync(join(cleanDir, 'figures')).sort()).toEqual([
      'accuracy-tokens-xstest.png',
      'accuracy-tokens-xstest.svg',
      'hypothesis-gap-xstest.png',
      'hypothesis-gap-xstest.svg',
    ]);
  }, 300_000);

  test('a finished cell whose results.json changed stops --resume, naming the cell', async () => {
    const dir = tmp();
    const config = studyFile(dir, { models: ['Qwen/Qwen3-0.6B'], options: { ...SMALL, 'num-instances': 4 } });
    const out = join(dir, 'out');
    expect(
      (await inProcess(['--config', config, '--output', out, '--base-url', emu.baseURL, '--no-report'])).exitCode,
    ).toBe(0);
    const cell = readStudyJson(out).cells[0] as StudyFile['cells'][number];
    writeFileSync(join(out, cell.id, 'results.json'), `${readFileSync(join(out, cell.id, 'results.json'), 'utf8')} `);
    const r = await inProcess([
      '--config',
      config,
      '--output',
      out,
      '--base-url',
      emu.baseURL,
      '--resume',
      '--no-report',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`cell ${cell.id}: results.json changed since the cell finished`);
  }, 120_000);
});
