import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { computeMetrics, readRun, thresholdSweep } from '@deepconf-safety/reporting';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import { loadRecording, sweepRecording, type InstanceInput, type RunSettings } from '@deepconf-safety/runner';
import { recordEmulatedRun, xstestInstances } from '../../runner/test/support/emulated-run.js';

// Test-only use of the runner: reporting's sweep must give exactly what `npm run sweep` gives on the same store.
const SEED = 13;
const KEEPS = [1, 5, 10, 25, 50, 75, 90, 100];
const settings = (over: Partial<RunSettings> = {}): RunSettings => ({
  traces: 6,
  warmup: 2,
  window: 16,
  keepPercent: 10,
  calibration: 'per-instance',
  calibrationInstances: 1,
  earlyStop: true,
  consensusTau: null,
  seed: SEED,
  splitPercentile: 50,
  request: { maxTokens: 128, temperature: 0.6, topP: 0.95, topK: 20, topLogprobs: 20, thinking: false },
  ...over,
});

let emulator: EmulatorHandle;
let instances: InstanceInput[];
const dirs: Record<string, string> = {};

async function record(name: string, s: RunSettings): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `sweep-agree-${name}-`));
  const config = runConfig({
    traces: s.traces,
    warmup: s.warmup,
    window: s.window,
    keepPercent: s.keepPercent,
    calibration: s.calibration,
    calibrationInstances: s.calibrationInstances,
    earlyStop: s.earlyStop,
    consensus: null,
    seed: s.seed,
    splitPercentile: s.splitPercentile,
  });
  await recordEmulatedRun({ dir, runId: name, config, settings: s, baseURL: emulator.baseURL, instances });
  dirs[name] = dir;
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', seed: SEED, maxLogprobs: 21 });
  instances = await xstestInstances(16, SEED);
  await record('online', settings());
  await record('full', settings({ earlyStop: false }));
  await record('global', settings({ calibration: 'global', calibrationInstances: 3 }));
}, 60_000);

afterAll(async () => {
  await emulator?.close();
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
});

describe('reporting threshold sweep', () => {
  test.each(['online', 'full', 'global'])(
    'agrees exactly with `npm run sweep` on a recorded emulator run (%s)',
    (name) => {
      const dir = dirs[name] as string;
      const sweep = thresholdSweep(readRun(dir), KEEPS);
      if (sweep === null) throw new Error('expected a sweep');
      const rows = sweepRecording(loadRecording(RunStore.open(dir)), {
        windows: [16],
        keepPercents: KEEPS,
        warmups: [2],
      }).rows;
      expect(sweep.notComputable).toEqual(rows.filter((r) => !r.computable).map((r) => r.keepPercent));
      expect(
        sweep.points.map((p) => ({
          keep: p.keepPercent,
          accuracy: p.accuracy,
          tokens: p.tokens,
          baseline: p.baselineTokens,
        })),
      ).toEqual(
        rows
          .filter((r) => r.computable)
          .map((r) => ({ keep: r.keepPercent, accuracy: r.accuracy, tokens: r.tokens, baseline: r.baselineTokens })),
      );
      // The run's own η is always computable; with early stopping it costs what the run cost.
      const own = sweep.points.find((p) => p.keepPercent === 10);
      const recorded = RunStore.open(dir).readResults().overall.total_tokens;
      if (name === 'full') expect(own?.tokens).toBeLessThan(recorded);
      else expect(own?.tokens).toBe(recorded);
    },
  );

  test('a full recording answers every η; global calibration with a strict η decides every prompt, some by the fallback', () => {
    expect(thresholdSweep(readRun(dirs['full'] as string), KEEPS)?.notComputable).toEqual([]);
    const run = readRun(dirs['global'] as string);
    expect(run.instances.every((i) => i.decision !== null)).toBe(true);
    const fallbacks = run.instances.filter((i) => i.fallback === true).length;
    expect(fallbacks).toBeGreaterThan(0);
    expect(computeMetrics(run).fallbacks).toBe(fallbacks);
    const own = thresholdSweep(run, [10])?.points[0];
    expect(own).toMatchObject({
      undecided: 0,
      fallbacks: run.instances.filter((i) => i.fallback === true && i.shouldRefuse !== null).length,
    });
  });
});
