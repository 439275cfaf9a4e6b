import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import {
  compareWithRecording,
  loadRecording,
  replayRecordedSettings,
  replayRun,
  sweepRecording,
  type InstanceInput,
  type Recording,
  type RunSettings,
} from '@deepconf-safety/runner';
import { recordEmulatedRun, xstestInstances } from './support/emulated-run.js';
import { testSettings } from './test-settings.js';

// Real runs against the in-process emulator over HTTP: the replay must give what the online runner gave.
const SEED = 11;
const settings = (over: Partial<RunSettings> = {}): RunSettings => testSettings(SEED, over);

/** The manifest config as `npm run experiment` writes it (the fields a replay reads). */
const configOf = (s: RunSettings) =>
  runConfig({
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
    decisionConfidence: s.decisionConfidence ?? 'vote-share',
    vote: s.vote ?? 'weighted',
  });

let emulator: EmulatorHandle;
let instances: InstanceInput[];

async function record(s: RunSettings): Promise<{ store: RunStore; recording: Recording }> {
  const dir = mkdtempSync(join(tmpdir(), 'replay-emu-'));
  const store = await recordEmulatedRun({
    dir,
    runId: 'emu',
    config: configOf(s),
    settings: s,
    baseURL: emulator.baseURL,
    instances,
  });
  return { store, recording: loadRecording(RunStore.open(dir)) };
}

let online: { store: RunStore; recording: Recording };
let full: { store: RunStore; recording: Recording };
let globalRun: { store: RunStore; recording: Recording };

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', seed: SEED, maxLogprobs: 21 });
  instances = await xstestInstances(12, SEED);
  online = await record(settings());
  full = await record(settings({ earlyStop: false }));
  globalRun = await record(settings({ calibration: 'global', calibrationInstances: 4, keepPercent: 90 }));
}, 60_000);

afterAll(async () => {
  await emulator?.close();
});

describe('replay of runs recorded against the emulator', () => {
  test('the run used early stopping for real (otherwise the checks below prove little)', () => {
    expect(online.recording.earlyStoppedTraces).toBeGreaterThan(0);
    expect(full.recording.earlyStoppedTraces).toBe(0);
    expect(online.store.readResults().overall.decided).toBeGreaterThan(0);
  });

  test.each([
    ['early stopping, per-instance calibration', () => online],
    ['--no-early-stop', () => full],
    ['global calibration', () => globalRun],
  ])('replaying its own settings reproduces the online run exactly (%s)', (_name, get) => {
    const { store, recording } = get();
    const replay = replayRecordedSettings(recording);
    if (!replay.computable) throw new Error('own settings must be computable');
    expect(compareWithRecording(recording, replay)).toEqual([]);
    expect(replay.results).toEqual(store.readResults());
    const recorded = new Map(store.readTraces().map((t) => [`${t.instanceId}#${t.traceIndex}`, t]));
    for (const t of replay.traces) {
      const r = recorded.get(`${t.instanceId}#${t.traceIndex}`);
      expect({
        key: `${t.instanceId}#${t.traceIndex}`,
        stopReason: t.stopReason,
        tokens: t.tokens,
        voted: t.voted,
        phase: t.phase,
      }).toEqual({
        key: `${r?.instanceId}#${r?.traceIndex}`,
        stopReason: r?.stopReason,
        tokens: r?.tokens,
        voted: r?.voted,
        phase: r?.phase,
      });
    }
  });

  test('replaying the full recording with the early-stop settings gives what the early-stop run did online', () => {
    const replay = replayRun(full.recording, { window: 16, keepPercent: 50, warmup: 2 });
    if (!replay.computable) throw new Error('a full recording is always computable');
    expect(
      compareWithRecording(online.recording, replay).filter(
        (m) => m.field !== 'baselineTokens' && m.field !== 'baselineEstimated',
      ),
    ).toEqual([]);
    // The full recording knows the true baseline; the online run could only estimate it.
    expect(replay.results.overall.baseline_estimated).toBe(false);
  });

  test('a sweep over the full recording uses monotonically fewer tokens as the threshold rises', () => {
    const keeps = [10, 30, 50, 70, 90, 100];
    const sweep = sweepRecording(full.recording, { windows: [8, 16, 32], keepPercents: keeps, warmups: [1, 2, 4] });
    expect(sweep.rows).toHaveLength(3 * 3 * keeps.length);
    expect(sweep.rows.every((r) => r.computable)).toBe(true);
    for (const window of [8, 16, 32]) {
      for (const warmup of [1, 2, 4]) {
        const tokens = keeps.map(
          (k) =>
            sweep.rows.find((r) => r.window === window && r.warmup === warmup && r.keepPercent === k)?.tokens as number,
        );
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThanOrEqual(tokens[i - 1] as number);
        // Never more than running everything.
        expect(tokens[tokens.length - 1]).toBeLessThanOrEqual(full.store.readResults().overall.total_tokens);
      }
    }
    expect(sweep.rows.some((r) => (r.earlyStopped ?? 0) > 0)).toBe(true);
    expect(sweep.rows.some((r) => r.pareto)).toBe(true);
    expect(sweep.recordedCheck).toEqual({ computable: true, instances: instances.length, mismatches: [] });
  });

  test('settings that would resurrect stopped traces are reported, not guessed', () => {
    const sweep = sweepRecording(online.recording, { windows: [16], keepPercents: [10, 50, 100], warmups: [2] });
    const byKeep = (k: number) => sweep.rows.find((r) => r.keepPercent === k);
    expect(byKeep(10)?.computable).toBe(true);
    expect(byKeep(50)).toMatchObject({ computable: true, recorded: true });
    expect(byKeep(100)).toMatchObject({ computable: false, accuracy: null, tokens: null });
    expect(byKeep(100)?.blockedTraces).toBeGreaterThan(0);
    expect(sweep.recordedCheck.mismatches).toEqual([]);
  });
});
