import { describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigMismatchError,
  RunStore,
  RunStoreFormatError,
  encodeConfidences,
  isRunStoreError,
  runConfig,
  type InstanceRecord,
  type RunConfigInput,
  type TraceRecord,
} from '@deepconf-safety/run-store';

const tmp = () => mkdtempSync(join(tmpdir(), 'run-store-'));
const init = (config: RunConfigInput) => ({
  runId: 'r1',
  startedAt: new Date(0).toISOString(),
  config: runConfig(config),
  versions: { node: process.version },
  gitCommit: null,
  server: { emulated: true, baseUrls: ['http://127.0.0.1:1/v1'] },
  emulated: true,
});

const trace = (instanceId: string, traceIndex: number, extra: Partial<TraceRecord> = {}): TraceRecord => ({
  instanceId,
  traceIndex,
  phase: 'warmup',
  stopReason: 'finished',
  stoppedAtToken: null,
  tokens: 3,
  confidences: encodeConfidences([1, 2, 3]),
  lowestGroup: 2,
  bottom10: 2,
  tail: 2,
  mean: 2,
  threshold: null,
  voted: true,
  text: 'hi',
  reasoning: null,
  refusal: null,
  endpoint: null,
  attempts: 1,
  latencyMs: 1,
  error: null,
  ...extra,
});

const instance = (instanceId: string, extra: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId,
  prompt: 'p',
  category: 'c',
  source: 's',
  shouldRefuse: true,
  decision: 'refuse',
  confidence: 5,
  voteShare: 1,
  votes: { refuse: 5, comply: 0 },
  correct: true,
  threshold: 1,
  traces: 1,
  voters: 1,
  earlyStopped: 0,
  errors: 0,
  tokens: 3,
  baselineTokens: 3,
  baselineEstimated: false,
  ...extra,
});

describe('RunStore', () => {
  test('round-trips records and keeps the latest record per key', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init({ seed: 1 }), { resume: false });
    store.appendTrace(trace('x', 0));
    store.appendTrace(trace('x', 1));
    store.appendTrace(trace('x', 0, { text: 'redone' }));
    store.appendInstance(instance('x', { errors: 1 }));
    store.appendInstance(instance('x', { errors: 0 }));
    store.close();
    const read = RunStore.open(dir);
    const traces = read.readTraces();
    expect(traces.map((t) => [t.traceIndex, t.text])).toEqual([
      [1, 'hi'],
      [0, 'redone'],
    ]);
    expect(read.readInstances()).toHaveLength(1);
    expect(read.readInstances()[0]?.errors).toBe(0);
  });

  test('refuses to overwrite without resume and to resume with another config', () => {
    const dir = tmp();
    RunStore.create(dir, init({ traces: 8, model: 'm' }), { resume: false }).store.close();
    expect(() => RunStore.create(dir, init({ traces: 8, model: 'm' }), { resume: false })).toThrow(/--resume/);
    let error: unknown;
    try {
      RunStore.create(dir, init({ traces: 16, model: 'm' }), { resume: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigMismatchError);
    expect(isRunStoreError(error)).toBe(true);
    expect((error as Error).message).toContain('traces: 8 → 16');
    const { resumed } = RunStore.create(dir, init({ model: 'm', traces: 8 }), { resume: true });
    expect(resumed).toBe(true);
  });

  test('survives a line cut short by a crash and repairs it on the next append', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init({}), { resume: false });
    store.appendInstance(instance('a'));
    store.close();
    appendFileSync(join(dir, 'instances.jsonl'), '{"instanceId":"b","pro');
    expect(
      RunStore.open(dir)
        .readInstances()
        .map((r) => r.instanceId),
    ).toEqual(['a']);
    const again = RunStore.create(dir, init({}), { resume: true }).store;
    again.appendInstance(instance('c'));
    again.close();
    expect(
      RunStore.open(dir)
        .readInstances()
        .map((r) => r.instanceId),
    ).toEqual(['a', 'c']);
    expect(readFileSync(join(dir, 'instances.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });

  test('a corrupted line in the middle names the file and line', () => {
    const dir = tmp();
    RunStore.create(dir, init({}), { resume: false }).store.close();
    writeFileSync(
      join(dir, 'traces.jsonl'),
      `${JSON.stringify(trace('a', 0))}\nnot json\n${JSON.stringify(trace('a', 1))}\n`,
    );
    expect(() => RunStore.open(dir).readTraces()).toThrow(RunStoreFormatError);
    expect(() => RunStore.open(dir).readTraces()).toThrow(/traces\.jsonl:2/);
  });

  test('opening a directory that is not a run says what to pass', () => {
    expect(() => RunStore.open(tmp())).toThrow(/not a run directory/);
  });
});
