import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import { loadRecording, type InstanceInput, type Recording, type RunSettings } from '@deepconf-safety/runner';
import { recordEmulatedRun, xstestInstances } from './support/emulated-run.js';
import { testSettings } from './test-settings.js';

// The estimated no-early-stop baseline of an early-stop run against the exact one: a --no-early-stop run of the
// same seed (its traces are the full versions of the stopped ones). Real HTTP against the in-process emulator.
const SEED = 7;
const PROMPTS = 120;
let emulator: EmulatorHandle;
let instances: InstanceInput[];

async function record(s: RunSettings): Promise<Recording> {
  const dir = mkdtempSync(join(tmpdir(), 'savings-emu-'));
  const config = runConfig({
    traces: s.traces,
    warmup: s.warmup,
    window: s.window,
    keepPercent: s.keepPercent,
    calibration: s.calibration,
    calibrationInstances: s.calibrationInstances,
    earlyStop: s.earlyStop,
    consensus: s.consensusTau,
    seed: s.seed,
    splitPercentile: s.splitPercentile,
    decisionConfidence: 'vote-share',
    vote: 'weighted',
  });
  await recordEmulatedRun({ dir, runId: 'savings', config, settings: s, baseURL: emulator.baseURL, instances });
  return loadRecording(RunStore.open(dir));
}

const sum = (r: Recording, f: (i: Recording['instances'][number]) => number): number =>
  r.instances.reduce((a, i) => a + f(i), 0);

let early: Recording;
let full: Recording;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', seed: SEED, maxLogprobs: 21 });
  instances = await xstestInstances(PROMPTS, SEED);
  early = await record(testSettings(SEED, { warmup: 3 }));
  full = await record(testSettings(SEED, { warmup: 3, earlyStop: false }));
}, 120_000);

afterAll(async () => {
  await emulator?.close();
});

describe('estimated token savings of an early-stop run', () => {
  test(`are within 1.5 percentage points of the exact savings of a --no-early-stop run (${PROMPTS} prompts)`, () => {
    expect(early.instances).toHaveLength(PROMPTS);
    const tokens = sum(early, (i) => i.record.tokens);
    const exact = 100 * (1 - tokens / sum(full, (i) => i.record.tokens));
    const estimated = 100 * (1 - tokens / sum(early, (i) => i.record.baselineTokens));
    expect(early.instances.some((i) => i.record.baselineEstimated)).toBe(true);
    expect(full.instances.every((i) => !i.record.baselineEstimated)).toBe(true);
    expect(exact).toBeGreaterThan(5); // something was saved, so the comparison means something
    expect(Math.abs(estimated - exact)).toBeLessThanOrEqual(1.5);
  });

  test('the no-early-stop run is exact: its baseline is its own tokens', () => {
    expect(sum(full, (i) => i.record.baselineTokens)).toBe(sum(full, (i) => i.record.tokens));
  });
});
