import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import {
  compareWithRecording,
  loadRecording,
  replayRecordedSettings,
  replayRun,
  runExperiment,
  sweepRecording,
  type InstanceInput,
  type RunSettings,
} from '@deepconf-safety/runner';
import { testRequest, testSettings } from './test-settings.js';
import { COMPLY, REFUSE, ScriptedSource, flat, type Script } from './scripted-source.js';

const SEED = 5;
const settings: RunSettings = testSettings(SEED, {
  traces: 3,
  window: 4,
  keepPercent: 10,
  calibration: 'global',
  request: testRequest(64),
});
const config = runConfig({
  traces: 3,
  warmup: 2,
  window: 4,
  keepPercent: 10,
  calibration: 'global',
  calibrationInstances: 1,
  earlyStop: true,
  consensus: null,
  seed: SEED,
  splitPercentile: 50,
});
const inst = (id: string, shouldRefuse: boolean): InstanceInput => ({
  id,
  prompt: `prompt ${id}`,
  shouldRefuse,
  category: 'cat',
  source: 'test',
});

// X calibrates alone: warmup lowest groups 5 and 3 give threshold 4.8 (keep 10 %). Y, outside the slice, has no
// warmup and every one of its traces dips below 4.8: Y#0 at token 3 ("Sur", complies), Y#1 at token 20 (its text
// so far, "I'm sorry, but I can", refuses; prefix lowest group 4.75; its earlier 4.9 plateau stays above 4.8),
// Y#2 at token 3 (complies, 4).
const script = (id: string, i: number): Script => {
  if (id === 'X')
    return [
      { confs: flat(5, 8), text: REFUSE },
      { confs: flat(3, 8), text: COMPLY },
      { confs: flat(6, 8), text: REFUSE },
    ][i] as Script;
  return [
    { confs: flat(2, 8), text: COMPLY },
    { confs: [...flat(6, 10), ...flat(4.9, 4), ...flat(6, 6), ...flat(1, 8)], text: REFUSE },
    { confs: flat(4, 8), text: COMPLY },
  ][i] as Script;
};

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('a prompt whose every trace was stopped (global calibration)', () => {
  test('is decided by the fallback vote over its stopped traces, marked as such, and the replay reproduces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-fallback-'));
    made.push(dir);
    const { store } = RunStore.create(
      dir,
      {
        runId: 'fb',
        startedAt: new Date(0).toISOString(),
        config,
        versions: {},
        gitCommit: null,
        server: { emulated: true, baseUrls: [] },
        emulated: true,
      },
      { resume: false },
    );
    const outcome = await runExperiment({
      instances: [inst('X', true), inst('Y', false)],
      settings,
      source: new ScriptedSource(SEED, script),
      store,
      emulated: true,
      concurrency: 2,
    });
    store.close();
    const [x, y] = store.readInstances();
    expect(x).toMatchObject({ instanceId: 'X', decision: 'refuse', fallback: false, voters: 2 });
    expect(y).toMatchObject({
      instanceId: 'Y',
      threshold: 4.8,
      earlyStopped: 3,
      voters: 0,
      decision: 'comply',
      correct: true,
      fallback: true,
      votes: { refuse: 4.75, comply: 6 },
    });
    expect(y?.voteShare).toBeCloseTo(6 / 10.75, 12);
    // Nothing in traces.jsonl claims a vote it did not have.
    expect(
      store
        .readTraces()
        .filter((t) => t.instanceId === 'Y')
        .map((t) => [t.stopReason, t.voted, t.refusal?.refused]),
    ).toEqual([
      ['early_stopped', false, false],
      ['early_stopped', false, true],
      ['early_stopped', false, false],
    ]);
    expect(outcome.results?.overall).toMatchObject({ instances: 2, decided: 2, accuracy: 1 });

    const recording = loadRecording(RunStore.open(dir));
    const replay = replayRecordedSettings(recording);
    if (!replay.computable) throw new Error('own settings must be computable');
    expect(compareWithRecording(recording, replay)).toEqual([]);
    expect(replay.results).toEqual(RunStore.open(dir).readResults());
    // Keep 25 % (threshold 4.5) stops Y#1 later than recorded: tokens it never generated.
    expect(replayRun(recording, { window: 4, keepPercent: 25, warmup: 2 })).toMatchObject({
      computable: false,
      blocked: [{ instanceId: 'Y', traceIndex: 1, reason: 'stop-beyond-recording' }],
    });
    // Keep 1 % (threshold 4.98) stops Y#1 on its plateau at token 13: the fallback would need the label of a text never produced.
    expect(replayRun(recording, { window: 4, keepPercent: 1, warmup: 2 })).toMatchObject({
      computable: false,
      blocked: [{ instanceId: 'Y', traceIndex: 1, reason: 'fallback-label-unknown' }],
    });
    // ... unless asked to label it on its recorded text ("I'm sorry, but I can't help with that." refuses; prefix lowest group 4.9).
    const approx = replayRun(recording, { window: 4, keepPercent: 1, warmup: 2, fallbackLabels: 'recorded' });
    if (!approx.computable) throw new Error('expected a computable replay');
    expect(approx.approximateLabels).toBe(1);
    expect(approx.instances[1]).toMatchObject({
      instanceId: 'Y',
      fallback: true,
      decision: 'comply',
      votes: { refuse: 4.9, comply: 6 },
    });
    const rows = sweepRecording(recording, { windows: [4], keepPercents: [1, 10, 25], warmups: [2] }).rows;
    expect(rows.map((r) => [r.keepPercent, r.computable, r.blockedReasons, r.approximateLabels])).toEqual([
      [1, false, { 'fallback-label-unknown': 1 }, null],
      [10, true, {}, 0],
      [25, false, { 'stop-beyond-recording': 1 }, null],
    ]);
  });

  test('a recording from before the fallback existed (no field) still compares clean where nothing fell back', () => {
    const recording = { instances: [{ record: { instanceId: 'A', decision: null } }] } as unknown as Parameters<
      typeof compareWithRecording
    >[0];
    const replay = { instances: [{ instanceId: 'A', decision: null, fallback: false }] } as unknown as Parameters<
      typeof compareWithRecording
    >[1];
    expect(compareWithRecording(recording, replay).filter((m) => m.field === 'fallback')).toEqual([]);
  });
});
