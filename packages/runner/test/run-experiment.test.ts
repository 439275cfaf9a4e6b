import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, runConfig, decodeConfidences, type TraceRecord } from '@deepconf-safety/run-store';
import {
  ServerFailureError,
  runExperiment,
  tallyErrors,
  type ErrorTally,
  type InstanceInput,
  type RunExperimentOptions,
  type RunProgress,
  type RunSettings,
} from '@deepconf-safety/runner';
import { testRequest, testSettings } from './test-settings.js';
import { VllmClientError } from '@deepconf-safety/vllm-client';
import { COMPLY, REFUSE, ScriptedSource, flat, type Script } from './scripted-source.js';

const SEED = 7;
const settings = (over: Partial<RunSettings> = {}): RunSettings =>
  testSettings(SEED, { traces: 4, window: 4, request: testRequest(64), ...over });
const inst = (id: string, shouldRefuse: boolean | null, category = 'cat'): InstanceInput => ({
  id,
  prompt: `prompt ${id}`,
  shouldRefuse,
  category,
  source: 'test',
});

function openStore(dir: string, resume = false) {
  return RunStore.create(
    dir,
    {
      runId: 'r',
      startedAt: new Date(0).toISOString(),
      config: runConfig(),
      versions: {},
      gitCommit: null,
      server: { emulated: true, baseUrls: [] },
      emulated: true,
    },
    { resume },
  ).store;
}
const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-'));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const rawLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
const byKey = (traces: TraceRecord[]) => new Map(traces.map((t) => [`${t.instanceId}#${t.traceIndex}`, t]));

// Prompt A: warmup lowest groups 5 and 3 -> threshold (keep 50%) = 4. Final #2 stays at 6; final #3 drops to 1
// and its window mean [6,6,1,1] = 3.5 < 4 fires at token 5. Prompt B: four confident compliances.
const scriptAB = (id: string, i: number): Script => {
  if (id === 'A') {
    return [
      { confs: flat(5, 12), text: REFUSE },
      { confs: flat(3, 12), text: COMPLY },
      { confs: flat(6, 10), text: REFUSE },
      { confs: [6, 6, 6, 6, ...flat(1, 8)], text: COMPLY },
    ][i] as Script;
  }
  return { confs: flat(4, 8), text: COMPLY };
};

describe('runExperiment on scripted streams', () => {
  test('calibrates per prompt, stops below the threshold, votes and accounts tokens', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const source = new ScriptedSource(SEED, scriptAB);
    const outcome = await runExperiment({
      instances: [inst('A', true), inst('B', false)],
      settings: settings(),
      source,
      store,
      emulated: true,
      concurrency: 4,
    });
    store.close();
    expect(outcome.status).toBe('completed');

    const traces = byKey(store.readTraces());
    expect(traces.size).toBe(8);
    const a3 = traces.get('A#3');
    expect(a3).toMatchObject({
      phase: 'final',
      stopReason: 'early_stopped',
      stoppedAtToken: 5,
      tokens: 6,
      threshold: 4,
      voted: false,
    });
    expect(Array.from(decodeConfidences(a3?.confidences ?? ''))).toEqual([6, 6, 6, 6, 1, 1]);
    expect(traces.get('A#1')).toMatchObject({
      phase: 'warmup',
      stopReason: 'finished',
      lowestGroup: 3,
      voted: false,
      threshold: null,
    });
    expect(traces.get('A#0')).toMatchObject({
      phase: 'warmup',
      voted: true,
      refusal: expect.objectContaining({ refused: true }),
    });
    expect(traces.get('A#2')).toMatchObject({ stopReason: 'finished', voted: true, tokens: 10 });
    // The server stopped generating when asked: 12 + 12 + 10 + 6 for A, 4 x 8 for B.
    expect(source.emitted).toBe(40 + 32);

    const [a, b] = ['A', 'B'].map((id) => store.readInstances().find((r) => r.instanceId === id));
    expect(a).toMatchObject({
      decision: 'refuse',
      correct: true,
      threshold: 4,
      traces: 4,
      voters: 2,
      earlyStopped: 1,
      errors: 0,
      tokens: 40,
      baselineEstimated: true,
    });
    // Decision confidence by default: the weighted share of the winning answer (unanimous here).
    expect(a?.confidence).toBe(1);
    expect(a?.votes).toEqual({ refuse: 11, comply: 0 });
    // The no-early-stop baseline is estimated from the warmups only (they were not selected by confidence):
    // the warmups count exactly (12 + 12) and each of the two finals counts their mean length (12).
    const warmupMean = (12 + 12) / 2;
    expect(a?.baselineTokens).toBeCloseTo(12 + 12 + 2 * warmupMean, 9);
    expect(b).toMatchObject({
      decision: 'comply',
      correct: true,
      tokens: 32,
      baselineTokens: 32,
      baselineEstimated: false,
      confidence: 1,
    });

    expect(outcome.results?.overall).toMatchObject({
      instances: 2,
      decided: 2,
      total_tokens: 72,
      baseline_estimated: true,
      accuracy: 1,
      early_stop_rate: 1 / 4,
      errors: 0,
    }); // 1 of 4 final traces
    expect(outcome.results?.overall.token_savings_percent).toBeCloseTo(
      100 * (1 - 72 / (32 + 12 + 12 + 2 * warmupMean)),
      9,
    );
    expect(store.readResults().overall.total_tokens).toBe(72);
  });

  test('--no-early-stop runs everything in full, baseline exact, and still marks low-confidence finals out of the vote', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const source = new ScriptedSource(SEED, scriptAB);
    const outcome = await runExperiment({
      instances: [inst('A', true)],
      settings: settings({ earlyStop: false }),
      source,
      store,
      emulated: false,
      concurrency: 2,
    });
    store.close();
    const a3 = byKey(store.readTraces()).get('A#3');
    expect(a3).toMatchObject({ stopReason: 'finished', tokens: 12, lowestGroup: 1, threshold: null, voted: false });
    // Replaying the recorded stream against the prompt's threshold finds the same stop the online run made.
    expect(store.readInstances()[0]).toMatchObject({
      tokens: 46,
      baselineTokens: 46,
      baselineEstimated: false,
      earlyStopped: 0,
      decision: 'refuse',
      threshold: 4,
    });
    expect(outcome.results).toMatchObject({
      emulated: false,
      overall: { token_savings_percent: 0, baseline_estimated: false },
    });
  });

  test('global calibration: one threshold from the calibration slice, every trace of the other prompts streams against it', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const script = (id: string, i: number): Script =>
      id === 'X'
        ? { confs: flat(i === 0 ? 5 : 3, 8), text: REFUSE }
        : i === 0
          ? { confs: flat(2, 8), text: COMPLY }
          : { confs: flat(6, 8), text: REFUSE };
    await runExperiment({
      instances: [inst('X', true), inst('Y', true)],
      settings: settings({ calibration: 'global', traces: 3 }),
      source: new ScriptedSource(SEED, script),
      store,
      emulated: true,
      concurrency: 2,
    });
    store.close();
    const traces = byKey(store.readTraces());
    expect(traces.get('X#0')).toMatchObject({ phase: 'warmup', voted: true });
    expect(traces.get('X#1')).toMatchObject({ phase: 'warmup', voted: false });
    expect(traces.get('Y#0')).toMatchObject({
      phase: 'final',
      threshold: 4,
      stopReason: 'early_stopped',
      stoppedAtToken: 3,
    });
    expect(traces.get('Y#1')).toMatchObject({ phase: 'final', voted: true });
    expect(store.readInstances().map((r) => [r.instanceId, r.threshold, r.decision])).toEqual([
      ['X', 4, 'refuse'],
      ['Y', 4, 'refuse'],
    ]);
  });

  test('adaptive sampling stops launching traces once the vote reaches consensus', async () => {
    const store = openStore(tmp());
    const source = new ScriptedSource(SEED, () => ({ confs: flat(5, 8), text: REFUSE }));
    await runExperiment({
      instances: [inst('A', true)],
      settings: settings({ traces: 6, consensusTau: 0.95 }),
      source,
      store,
      emulated: true,
      concurrency: 1,
    });
    store.close();
    expect(source.requests).toHaveLength(2);
    expect(store.readInstances()[0]).toMatchObject({
      traces: 2,
      skipped: 4,
      tokens: 16,
      baselineTokens: 48,
      baselineEstimated: true,
    });
  });

  test('adaptive sampling on resume counts the finals already on disk, as the uninterrupted run did', async () => {
    // Warmups split 1:1; finals refuse. tau 0.7: after final 2 the share is 2/3, after final 3 it is 3/4: stop.
    const split = (_id: string, i: number): Script => ({ confs: flat(5, 8), text: i === 1 ? COMPLY : REFUSE });
    const run = (store: RunStore, source: ScriptedSource) =>
      runExperiment({
        instances: [inst('A', true)],
        settings: settings({ traces: 8, consensusTau: 0.7, keepPercent: 50 }),
        source,
        store,
        emulated: true,
        concurrency: 4,
      });
    const full = openStore(tmp());
    const first = new ScriptedSource(SEED, split);
    await run(full, first);
    full.close();
    expect(first.requests).toHaveLength(4);
    expect(full.readInstances()[0]).toMatchObject({ traces: 4, skipped: 4 });
    // Killed after the last trace was written, before the prompt's record: every trace is on disk, no instance.
    const dir = tmp();
    const killed = openStore(dir);
    for (const t of full.readTraces()) killed.appendTrace(t);
    killed.close();
    const resumed = openStore(dir, true);
    const second = new ScriptedSource(SEED, split);
    await run(resumed, second);
    resumed.close();
    expect(second.requests).toHaveLength(0);
    expect(resumed.readInstances()).toEqual(full.readInstances());
    expect(resumed.readResults()).toEqual(full.readResults());
  });

  test('skipped traces count in the baseline under --no-early-stop too', async () => {
    const store = openStore(tmp());
    const source = new ScriptedSource(SEED, () => ({ confs: flat(5, 8), text: REFUSE }));
    await runExperiment({
      instances: [inst('A', true)],
      settings: settings({ traces: 6, consensusTau: 0.95, earlyStop: false }),
      source,
      store,
      emulated: true,
      concurrency: 1,
    });
    store.close();
    expect(store.readInstances()[0]).toMatchObject({
      traces: 2,
      skipped: 4,
      tokens: 16,
      baselineTokens: 48,
      baselineEstimated: true,
    });
  });
});

describe('resume', () => {
  const instances = Array.from({ length: 10 }, (_, k) => inst(`p${k}`, k % 2 === 0, k % 3 === 0 ? 'c0' : 'c1'));
  // Varied but deterministic per (prompt, trace): some refuse, some comply, some drop and get stopped.
  const script = (id: string, i: number): Script => {
    const k = Number(id.slice(1));
    const level = 2 + ((k * 7 + i * 3) % 5);
    const drop = (k + i) % 4 === 3;
    return {
      confs: drop ? [...flat(level, 4), ...flat(0.5, 10)] : flat(level, 6 + ((k + i) % 5)),
      text: (k + i) % 3 === 0 ? COMPLY : REFUSE,
    };
  };

  test('an interrupted run resumes to the same results as an uninterrupted one, without duplicating work', async () => {
    const full = openStore(tmp());
    const reference = await runExperiment({
      instances,
      settings: settings(),
      source: new ScriptedSource(SEED, script),
      store: full,
      emulated: true,
      concurrency: 3,
    });
    full.close();

    const dir = tmp();
    const first = openStore(dir);
    const controller = new AbortController();
    const firstSource = new ScriptedSource(SEED, script);
    const outcome1 = await runExperiment({
      instances,
      settings: settings(),
      source: firstSource,
      store: first,
      emulated: true,
      concurrency: 3,
      signal: controller.signal,
      onProgress: (p: RunProgress) => {
        if (p.instancesDone >= 3) controller.abort();
      },
    });
    first.close();
    expect(outcome1.status).toBe('interrupted');
    const doneBefore = first.readInstances().length;
    const tracesBefore = first.readTraces().length;
    expect(doneBefore).toBeGreaterThanOrEqual(3);
    expect(doneBefore).toBeLessThan(10);
    expect(first.hasResults()).toBe(false);

    const second = openStore(dir, true);
    const secondSource = new ScriptedSource(SEED, script);
    const outcome2 = await runExperiment({
      instances,
      settings: settings(),
      source: secondSource,
      store: second,
      emulated: true,
      concurrency: 3,
    });
    second.close();
    expect(outcome2.status).toBe('completed');
    expect(outcome2.resumedInstances).toBe(doneBefore);
    // Only traces not yet on disk were requested again.
    expect(secondSource.requests.length).toBe(40 - tracesBefore);
    expect(rawLines(second.path('traces'))).toHaveLength(40);
    expect(rawLines(second.path('instances'))).toHaveLength(10);

    const strip = (rs: ReturnType<RunStore['readInstances']>) =>
      [...rs].sort((x, y) => (x.instanceId < y.instanceId ? -1 : 1));
    expect(strip(second.readInstances())).toEqual(strip(full.readInstances()));
    expect(outcome2.results).toEqual(reference.results);
  });
});

describe('faults', () => {
  test('a broken stream is retried; one that keeps breaking becomes an error trace and the run goes on; --retry-errors redoes only it', async () => {
    const dir = tmp();
    const store = openStore(dir);
    const script = (id: string, i: number): Script => ({
      confs: flat(5, 8),
      text: REFUSE,
      failures: id === 'A' && i === 2 ? 1 : id === 'B' && i === 3 ? 99 : 0,
    });
    const source = new ScriptedSource(SEED, script);
    const outcome = await runExperiment({
      instances: [inst('A', true), inst('B', true)],
      settings: settings(),
      source,
      store,
      emulated: true,
      concurrency: 2,
      maxAttempts: 3,
    });
    store.close();
    const traces = byKey(store.readTraces());
    expect(traces.get('A#2')).toMatchObject({ stopReason: 'finished', attempts: 2 });
    expect(traces.get('B#3')).toMatchObject({ stopReason: 'error', attempts: 3, voted: false, tokens: 0 });
    expect(traces.get('B#3')?.error).toMatch(/^connection: connection reset .*\(3 attempts\)/);
    // One retry loop: the attempts recorded are the requests the source saw, never more than maxAttempts.
    expect(source.attempts.get('A#2')).toBe(2);
    expect(source.attempts.get('B#3')).toBe(3);
    expect(store.readInstances().find((r) => r.instanceId === 'B')).toMatchObject({
      errors: 1,
      traces: 4,
      decision: 'refuse',
    });
    expect(outcome.results?.overall.errors).toBe(1);

    const again = openStore(dir, true);
    const healthy = new ScriptedSource(SEED, () => ({ confs: flat(5, 8), text: REFUSE }));
    const retried = await runExperiment({
      instances: [inst('A', true), inst('B', true)],
      settings: settings(),
      source: healthy,
      store: again,
      emulated: true,
      concurrency: 2,
      retryErrors: true,
    });
    again.close();
    expect(healthy.requests.map((r) => r.sessionId)).toEqual(['B']);
    expect(byKey(again.readTraces()).get('B#3')).toMatchObject({ stopReason: 'finished', attempts: 1 });
    expect(rawLines(again.path('instances'))).toHaveLength(3);
    expect(again.readInstances().find((r) => r.instanceId === 'B')).toMatchObject({ errors: 0, tokens: 32 });
    expect(retried.results?.overall.errors).toBe(0);
  });

  test("the run's own error tally and prompt counts equal what its store holds, after --resume and --retry-errors", async () => {
    const instances = Array.from({ length: 8 }, (_, k) => inst(`p${k}`, true));
    // Trace 1 of every third prompt fails every attempt; after the fix (`healed`) only p3's still does.
    const failing =
      (healed: boolean) =>
      (id: string, i: number): Script => ({
        confs: flat(5, 8),
        text: REFUSE,
        failures: i === 1 && (id === 'p3' || (!healed && Number(id.slice(1)) % 3 === 0)) ? 99 : 0,
      });
    const fromStore = (store: RunStore) => {
      const records = store.readInstances();
      return {
        errors: tallyErrors(store.readTraces()),
        prompts: {
          prompts: records.length,
          traces: records.reduce((a, r) => a + r.traces, 0),
          decided: records.filter((r) => r.decision !== null).length,
        },
      };
    };
    const run = async (dir: string, resume: boolean, healed: boolean, extra: Partial<RunExperimentOptions> = {}) => {
      const store = openStore(dir, resume);
      const atStart: ErrorTally[] = [];
      const outcome = await runExperiment({
        instances,
        settings: settings(),
        source: new ScriptedSource(SEED, failing(healed)),
        store,
        emulated: true,
        concurrency: 2,
        maxAttempts: 1,
        onResume: ({ errors }) => atStart.push(errors),
        ...extra,
      });
      store.close();
      return { outcome, store, atStart };
    };

    // A run with injected errors, start to end.
    const whole = await run(tmp(), false, false);
    expect(whole.outcome.errors.traces).toBe(3);
    expect({ errors: whole.outcome.errors, prompts: whole.outcome.prompts }).toEqual(fromStore(whole.store));

    // Interrupted after some prompts with errors were recorded, then resumed: the tally starts from the store's.
    const dir = tmp();
    const controller = new AbortController();
    const first = await run(dir, false, false, {
      signal: controller.signal,
      onProgress: (p: RunProgress) => {
        if (p.instancesDone >= 3) controller.abort();
      },
    });
    expect(first.outcome.status).toBe('interrupted');
    const before = tallyErrors(first.store.readTraces());
    expect(before.traces).toBeGreaterThan(0);
    const resumed = await run(dir, true, false);
    expect(resumed.atStart).toEqual([before]);
    expect(resumed.outcome.status).toBe('completed');
    expect({ errors: resumed.outcome.errors, prompts: resumed.outcome.prompts }).toEqual(fromStore(resumed.store));
    expect(resumed.outcome.errors).toEqual(whole.outcome.errors);

    // --retry-errors: the redone traces that now succeed are no longer errors; p3's fails again.
    const retried = await run(dir, true, true, { retryErrors: true });
    expect(retried.atStart).toEqual([whole.outcome.errors]);
    expect(retried.outcome.errors).toMatchObject({ traces: 1, prompts: 1 });
    expect({ errors: retried.outcome.errors, prompts: retried.outcome.prompts }).toEqual(fromStore(retried.store));
  });

  test('a refused key stops the run with a clear error that never shows the key', async () => {
    const store = openStore(tmp());
    const fatal = new VllmClientError('auth', '401 for key sk-secret-123');
    const run = runExperiment({
      instances: [inst('A', true), inst('B', true)],
      settings: settings(),
      source: new ScriptedSource(SEED, () => ({ confs: [], text: '', fatal })),
      store,
      emulated: false,
      concurrency: 2,
      secrets: ['sk-secret-123'],
    });
    await expect(run).rejects.toThrow(ServerFailureError);
    await expect(run).rejects.toThrow(/\*\*\*/);
    await run.catch((e: Error) => expect(e.message).not.toContain('sk-secret-123'));
    store.close();
    expect(store.readInstances()).toHaveLength(0);
  });

  test('a server that fails every trace ends the run instead of recording errors forever', async () => {
    const store = openStore(tmp());
    const instances = Array.from({ length: 20 }, (_, k) => inst(`p${k}`, true));
    const source = new ScriptedSource(SEED, () => ({ confs: flat(1, 4), text: REFUSE, failures: 99 }));
    const run = runExperiment({
      instances,
      settings: settings(),
      source,
      store,
      emulated: false,
      concurrency: 2,
      maxAttempts: 1,
      maxConsecutiveErrors: 5,
    });
    await expect(run).rejects.toThrow(/5 traces in a row failed/);
    // maxAttempts 1 (--retries 0): one request per trace.
    expect([...source.attempts.values()].every((n) => n === 1)).toBe(true);
    store.close();
  });

  test('duplicate instance ids are refused up front', async () => {
    const store = openStore(tmp());
    await expect(
      runExperiment({
        instances: [inst('A', true), inst('A', true)],
        settings: settings(),
        source: new ScriptedSource(SEED, scriptAB),
        store,
        emulated: true,
        concurrency: 1,
      }),
    ).rejects.toThrow(/duplicate instance id "A"/);
    store.close();
  });
});
