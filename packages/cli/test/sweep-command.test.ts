import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { EMULATED_BANNER } from '@deepconf-safety/reporting';
import { parseSweepOptions, sweepCommand } from '../src/sweep-command.js';
import { recordRun } from './support/experiment-run.js';

// Integration: runs recorded by the real `npm run experiment` command against the emulator over loopback HTTP,
// then `npm run sweep` on them, both in this process.
let emulator: EmulatorHandle;
let fullRun: string;
let stoppedRun: string;
const tmp = () => mkdtempSync(join(tmpdir(), 'sweep-cli-'));

function experiment(output: string, extra: string[]): Promise<void> {
  return recordRun([
    ...['--base-url', emulator.baseURL, '--num-instances', '10', '--traces', '6', '--warmup', '2', '--window', '16'],
    ...['--keep-percent', '50', '--max-tokens', '128', '--seed', '5', '--concurrency', '24', '--no-report'],
    ...['--output', output, ...extra],
  ]);
}

async function sweep(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await sweepCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', seed: 9, maxLogprobs: 21 });
  fullRun = join(tmp(), 'full');
  stoppedRun = join(tmp(), 'stopped');
  await experiment(fullRun, ['--no-early-stop']);
  await experiment(stoppedRun, []);
}, 60_000);

afterAll(async () => {
  await emulator?.close();
});

const csvRows = (file: string) => {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const names = (header ?? '').split(',');
  return rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])));
};

describe('npm run sweep', () => {
  test('writes the table, CSV, JSON and figure for every setting of the grid, marked emulated', async () => {
    const r = await sweep([
      fullRun,
      '--window',
      '8,16',
      '--keep-percent',
      '10,50,90',
      '--warmup',
      '1',
      '--warmup',
      '2',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/EMULATED RUN/);
    expect(r.out).toMatch(/12\/12 settings computable/);
    expect(r.out).toMatch(/reproduces its online records \(10 prompts\)/);
    const dir = join(fullRun, 'sweep');

    const rows = csvRows(join(dir, 'sweep.csv'));
    expect(rows).toHaveLength(12);
    expect(rows.every((row) => row['emulated'] === 'true' && row['computable'] === 'true')).toBe(true);
    expect(rows.some((row) => row['pareto'] === 'true')).toBe(true);
    for (const w of ['8', '16']) {
      for (const warm of ['1', '2']) {
        const tokens = ['10', '50', '90'].map((k) =>
          Number(
            rows.find((row) => row['window'] === w && row['warmup'] === warm && row['keep_percent'] === k)?.['tokens'],
          ),
        );
        expect(tokens[0]).toBeLessThanOrEqual(tokens[1] as number);
        expect(tokens[1]).toBeLessThanOrEqual(tokens[2] as number);
      }
    }

    const json = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    expect(json.emulated).toBe(true);
    expect(json.sweep.recordedCheck).toEqual({ computable: true, instances: 10, mismatches: [] });
    expect(json.variants.map((v: { name: string }) => v.name)).toEqual(
      expect.arrayContaining([
        'majority',
        'weighted:mean',
        'weighted:tail',
        'weighted:bottom10',
        'weighted:lowestGroup',
        'top10:tail',
      ]),
    );
    // The run's results.json tokens are the baseline of a --no-early-stop recording.
    const results = JSON.parse(readFileSync(join(fullRun, 'results.json'), 'utf8'));
    expect(json.reference.baselineTokens).toBe(results.overall.total_tokens);

    const md = readFileSync(join(dir, 'sweep.md'), 'utf8');
    expect(md).toMatch(/^# DeepConf threshold sweep — EMULATED RUN/);
    expect(md).toContain(EMULATED_BANNER);
    expect(md.split('\n').filter((l) => /^\| (8|16) \| /.test(l))).toHaveLength(12);
    expect(md).toContain('## Offline voting variants');

    const svg = readFileSync(join(dir, 'accuracy_vs_tokens.svg'), 'utf8');
    expect(svg).toContain(EMULATED_BANNER.replace("'", '&#39;'));
    const png = await sharp(readFileSync(join(dir, 'accuracy_vs_tokens.png'))).metadata();
    expect(png.format).toBe('png');
    expect(png.width).toBe(1920);
  }, 30_000);

  test('on a run that stopped traces itself, settings it cannot answer are listed as not computable', async () => {
    const out = join(tmp(), 'elsewhere');
    const r = await sweep([
      stoppedRun,
      '--window',
      '16',
      '--keep-percent',
      '10,50,100',
      '--output',
      out,
      '--no-variants',
      '--no-png',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /not computable because of \d+ trace\(s\): a trace would run past where the run stopped it \(tokens never generated\)/,
    );
    const rows = csvRows(join(out, 'sweep.csv'));
    expect(rows.map((row) => [row['keep_percent'], row['computable'], row['recorded_setting']])).toEqual([
      ['10', 'true', 'false'],
      ['50', 'true', 'true'],
      ['100', 'false', 'false'],
    ]);
    expect(Number(rows[2]?.['blocked_traces'])).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'sweep.md'), 'utf8')).toMatch(/\| 16 \| 100% \| 2 \| n\/a .*not computable/);
    expect(existsSync(join(out, 'accuracy_vs_tokens.png'))).toBe(false);

    // Nothing computable: the figure says so instead of drawing empty axes.
    const none = await sweep([stoppedRun, '--window', '64', '--keep-percent', '100', '--output', out, '--no-variants']);
    expect(none.code).toBe(0);
    expect(readFileSync(join(out, 'accuracy_vs_tokens.svg'), 'utf8')).toContain('No computable setting');
    expect(readFileSync(join(out, 'sweep.md'), 'utf8')).toContain('The run stopped');
  });

  test('text from the run is escaped in the table and the figure', async () => {
    const dir = join(tmp(), 'copy');
    cpSync(fullRun, dir, { recursive: true });
    const manifestFile = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    manifest.config.model = '<script>alert(1)</script>|x';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const r = await sweep([dir, '--window', '16', '--keep-percent', '50', '--no-png']);
    expect(r.code).toBe(0);
    const svg = readFileSync(join(dir, 'sweep', 'accuracy_vs_tokens.svg'), 'utf8');
    const md = readFileSync(join(dir, 'sweep', 'sweep.md'), 'utf8');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\|x');
  });

  test('bad input names the flag or file and says what to do', async () => {
    const bad = await sweep([fullRun, '--window', '16,abc']);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.err).toMatch(/--window: "abc" is not an integer/);
    expect(await sweep([])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/expected one run directory, got none/),
    });
    expect(await sweep([fullRun, '--warmup', '7'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--warmup: cannot exceed --traces \(7 > 6\)/),
    });
    expect(await sweep([fullRun, '--keep-percent', '0'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--keep-percent/),
    });
    expect(await sweep([fullRun, '--frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/frobnicate/) });
    const empty = tmp();
    expect(await sweep([empty])).toMatchObject({
      code: 1,
      err: expect.stringContaining(`${empty} is not a run directory`),
    });
  });
});

describe('--fallback-labels', () => {
  test('defaults to exact, accepts recorded, and rejects anything else by name', async () => {
    expect((await parseSweepOptions(['run']))?.fallbackLabels).toBe('exact');
    expect((await parseSweepOptions(['run', '--fallback-labels', 'recorded']))?.fallbackLabels).toBe('recorded');
    await expect(parseSweepOptions(['run', '--fallback-labels', 'guess'])).rejects.toThrow(/fallback-labels/);
  });
});
