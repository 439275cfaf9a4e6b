import { describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigMismatchError,
  RunStore,
  RunStoreFormatError,
  isRunStoreError,
  type RunConfigInput,
} from '@deepconf-safety/run-store';
import { instanceRecord as instance, manifestInit, traceRecord as trace } from './records.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'run-store-'));
const init = (config: RunConfigInput) => manifestInit(config, ['http://127.0.0.1:1/v1']);

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
