import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { compareProportions, seededRandom } from '@deepconf-safety/reporting';
import { RunStore, assignBucket, percentile } from '@deepconf-safety/run-store';
import { loadRecording, replayRun, type Recording } from '@deepconf-safety/runner';
import { sweepCommand } from '../src/sweep-command.js';
import {
  chooseSetting,
  selectOnHalf,
  splitHalves,
  subRecording,
  type HalfEvaluation,
  type SplitPrompt,
} from '../src/sweep-select.js';
import { recordRun } from './support/experiment-run.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sweep-select-'));

describe('splitHalves', () => {
  const prompts = (n: number, seed: number): SplitPrompt[] => {
    const random = seededRandom(seed);
    return Array.from({ length: n }, (_, i) => {
      const u = random();
      return { id: `p${i}`, shouldRefuse: u < 0.1 ? null : u < 0.55, calibration: i < 7 };
    });
  };

  test('disjoint halves covering every prompt, balanced overall and within every stratum', () => {
    for (const n of [1, 2, 3, 17, 100, 201]) {
      for (const byCalibration of [false, true]) {
        const ps = prompts(n, n);
        const s = splitHalves(ps, 7, byCalibration);
        const a = new Set(s.selection);
        expect(s.selection.filter((id) => s.test.includes(id))).toEqual([]);
        expect([...s.selection, ...s.test].sort()).toEqual(ps.map((p) => p.id).sort());
        expect(Math.abs(s.selection.length - s.test.length)).toBeLessThanOrEqual(1);
        for (const label of [true, false, null]) {
          const stratum = ps.filter((p) => p.shouldRefuse === label);
          const inA = stratum.filter((p) => a.has(p.id)).length;
          expect(Math.abs(inA - (stratum.length - inA))).toBeLessThanOrEqual(byCalibration ? 2 : 1);
        }
        if (byCalibration) {
          const cal = ps.filter((p) => p.calibration);
          const inA = cal.filter((p) => a.has(p.id)).length;
          expect(Math.abs(inA - (cal.length - inA))).toBeLessThanOrEqual(3);
        }
      }
    }
  });

  test('seeded: the same seed gives the same halves, another seed other halves', () => {
    const ps = prompts(60, 1);
    expect(splitHalves(ps, 42, false)).toEqual(splitHalves(ps, 42, false));
    expect(splitHalves(ps, 43, false).selection).not.toEqual(splitHalves(ps, 42, false).selection);
    expect(splitHalves(ps, 42, false).seed).toBe(42);
  });
});

describe('chooseSetting', () => {
  const evaluation = (
    window: number,
    u: [number, number] | null,
    c: [number, number] | null,
    extra: Partial<HalfEvaluation> = {},
  ): HalfEvaluation => {
    const comparison = u && c ? compareProportions(u[0], u[1], c[0], c[1]) : null;
    return {
      setting: { window, keepPercent: 10, warmup: 2, splitPercentile: 50 },
      computable: true,
      instances: 40,
      decided: 40,
      accuracy: 0.8,
      tokens: 1000,
      baselineTokens: 2000,
      savingsPercent: 50,
      splitConfidence: 0.9,
      uncertain: u ? { k: u[0], n: u[1] } : null,
      confident: c ? { k: c[0], n: c[1] } : null,
      gap: comparison === null ? null : -comparison.difference,
      comparison,
      ...extra,
    };
  };

  test('p-value: the smallest Fisher p among settings where uncertain compliance is less accurate', () => {
    const evals = [
      evaluation(8, [2, 10], [9, 10]), // gap 0.7, p ≈ 0.005
      evaluation(16, [9, 10], [1, 10]), // the reverse direction, smaller p
      evaluation(32, [1, 10], [10, 10]), // gap 0.9, p ≈ 0.0001
      evaluation(64, null, [10, 20]), // a group empty: cannot answer
      { ...evaluation(128, [0, 10], [10, 10]), computable: false },
    ];
    expect(chooseSetting(evals, 'p-value')?.setting.window).toBe(32);
    expect(chooseSetting(evals, 'gap')?.setting.window).toBe(32);
    expect(chooseSetting(evals.slice(0, 2), 'p-value')?.setting.window).toBe(8);
    expect(chooseSetting([evals[3] as HalfEvaluation], 'p-value')).toBeNull();
  });

  test('accuracy: the most accurate, then the cheaper; ties keep grid order', () => {
    const evals = [
      evaluation(8, null, null, { accuracy: 0.8, tokens: 900 }),
      evaluation(16, null, null, { accuracy: 0.85, tokens: 1200 }),
      evaluation(32, null, null, { accuracy: 0.85, tokens: 1100 }),
      evaluation(64, null, null, { accuracy: 0.85, tokens: 1100 }),
    ];
    expect(chooseSetting(evals, 'accuracy')?.setting.window).toBe(32);
  });
});

// Integration: a run recorded by the real `npm run experiment` against the emulator over loopback HTTP.
let emulator: EmulatorHandle;
let runDir: string;
let recording: Recording;
const GRID = { windows: [8, 16], keepPercents: [10, 50, 90], warmups: [2], splitPercentiles: [25, 50] };

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', seed: 3, maxLogprobs: 21 });
  runDir = join(tmp(), 'run');
  await recordRun([
    ...['--base-url', emulator.baseURL, '--num-instances', '40', '--traces', '6', '--warmup', '2'],
    ...['--window', '16', '--keep-percent', '50', '--max-tokens', '96', '--seed', '11', '--concurrency', '24'],
    ...['--no-early-stop', '--no-report', '--output', runDir],
  ]);
  recording = loadRecording(RunStore.open(runDir));
}, 90_000);

afterAll(async () => {
  await emulator?.close();
});

/**
 * The recording with every answer of the given prompts flipped (refusal ↔ compliance) and their traces'
 * confidences scrambled. Labels stay: the split is stratified by them, so it is a function of ids and labels.
 */
function scrambleTestHalf(r: Recording, testIds: readonly string[]): Recording {
  const test = new Set(testIds);
  const random = seededRandom(99);
  return {
    ...r,
    instances: r.instances.map((inst) => {
      if (!test.has(inst.record.instanceId)) return inst;
      return {
        ...inst,
        traces: inst.traces.map((t) => ({
          record: {
            ...t.record,
            refusal: t.record.refusal === null ? null : { ...t.record.refusal, refused: !t.record.refusal.refused },
          },
          confidences: t.confidences.map(() => 0.5 + 10 * random()),
        })),
      };
    }),
  };
}

const options = { seed: 5, criterion: 'p-value' as const, primary: 'compliance-accuracy' as const };

describe('selectOnHalf on a recorded run', () => {
  test('the choice is a pure function of the selection half: changing the test half never changes it', () => {
    const a = selectOnHalf(recording, GRID, options);
    expect(a.chosen).not.toBeNull();
    const b = selectOnHalf(scrambleTestHalf(recording, a.split.test), GRID, options);
    expect(b.split).toEqual(a.split);
    expect(b.selection).toEqual(a.selection);
    expect(b.chosen).toEqual(a.chosen);
    // …while the test half's result does change (the scramble reached it).
    expect(b.test).not.toEqual(a.test);
    // And the selection half does decide: scrambling it instead changes what the choice saw.
    const c = selectOnHalf(scrambleTestHalf(recording, a.split.selection), GRID, options);
    expect(c.selection).not.toEqual(a.selection);
  });

  test("the test half's result is the chosen setting's replay of those prompts only, split at their own percentile", () => {
    const s = selectOnHalf(recording, GRID, options);
    const chosen = s.chosen as NonNullable<typeof s.chosen>;
    // Per-instance calibration: a prompt's replayed decision depends only on its own traces, so the whole
    // recording's replay restricted to the test ids must equal the test half's.
    const replay = replayRun(recording, chosen);
    if (!replay.computable) throw new Error('not computable');
    const test = new Set(s.split.test);
    const records = replay.instances.filter((r) => test.has(r.instanceId));
    const split = percentile(
      records.flatMap((r) => (r.decision !== null && r.confidence !== null ? [r.confidence] : [])),
      chosen.splitPercentile,
    );
    const count = (bucket: string) => {
      const rs = records.filter((r) => r.correct !== null && assignBucket(r.decision, r.confidence, split) === bucket);
      return { k: rs.filter((r) => r.correct).length, n: rs.length };
    };
    const u = count('uncertain_compliance');
    const c = count('confident_compliance');
    expect(s.test?.splitConfidence).toBe(split);
    expect(s.test?.uncertain).toEqual(u);
    expect(s.test?.confident).toEqual(c);
    expect(s.test?.instances).toBe(s.split.test.length);
    expect(s.test?.tokens).toBe(records.reduce((a, r) => a + r.tokens, 0));
    expect(s.test?.comparison?.pValue).toBeCloseTo(compareProportions(u.k, u.n, c.k, c.n).pValue, 12);
  });

  test('subRecording keeps only the given prompts and recounts their stopped traces', () => {
    const ids = recording.instances.slice(0, 5).map((i) => i.record.instanceId);
    const sub = subRecording(recording, ids);
    expect(sub.instances.map((i) => i.record.instanceId)).toEqual(ids);
    expect(sub.earlyStoppedTraces).toBe(0);
  });
});

describe('npm run sweep --select-on half', () => {
  test('says which half chose and which tested, and records the seed and both halves', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const outDir = join(tmp(), 'sweep');
    const code = await sweepCommand(
      [
        ...[runDir, '--window', '8,16', '--keep-percent', '10,50,90', '--warmup', '2', '--split-percentile', '25,50'],
        ...['--select-on', 'half', '--select-seed', '5', '--no-variants', '--no-png', '--output', outDir],
      ],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    expect(err.join('\n')).toBe('');
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(
      /select-on half \(seed 5, stratified by label\): selection half 20 prompts chose, test half 20 prompts tested; the test half never informed the choice/,
    );
    const json = JSON.parse(readFileSync(join(outDir, 'sweep.json'), 'utf8'));
    const direct = selectOnHalf(recording, { ...GRID, fallbackLabels: 'exact' }, options);
    expect(json.selection.split).toEqual(direct.split);
    expect(json.selection.chosen).toEqual(direct.chosen);
    expect(json.selection.selection).toHaveLength(12);
    const md = readFileSync(join(outDir, 'sweep.md'), 'utf8');
    expect(md).toContain('## Selected on one half, tested on the other');
    expect(md).toMatch(/\*\*Tested on the test half only\*\* \(20 prompts/);
    expect(md).toMatch(/Newcombe 95%\), Fisher's exact p = /);
    expect(md.split('\n').filter((l) => l.includes('◆ chosen'))).toHaveLength(1);
  }, 60_000);

  test('--split-percentile without --select-on is a usage error', async () => {
    const err: string[] = [];
    const code = await sweepCommand([runDir, '--split-percentile', '50'], {
      out: () => undefined,
      err: (l) => err.push(l),
    });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--select-on half/);
  });
});
