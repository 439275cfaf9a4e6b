import { describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  RunStore,
  RunStoreFormatError,
  decodeConfidences,
  encodeConfidences,
  jsonlLines,
  readRunContents,
  type InstanceRecord,
  type TraceRecord,
} from '@deepconf-safety/run-store';
import { instanceRecord, manifestInit, traceRecord } from './records.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'run-store-once-'));
const init = manifestInit();

// Final traces whose confidences need every digit to round-trip, each with its own text.
const trace = (instanceId: string, traceIndex: number, extra: Partial<TraceRecord> = {}): TraceRecord =>
  traceRecord(instanceId, traceIndex, {
    phase: 'final',
    confidences: encodeConfidences([1.5, 2.25, 3 + 1e-12]),
    text: `answer ${instanceId}#${traceIndex}`,
    ...extra,
  });

const instance = (instanceId: string, extra: Partial<InstanceRecord> = {}): InstanceRecord =>
  instanceRecord(instanceId, { traces: 2, ...extra });

describe('readRunContents: one pass, confidences decoded once', () => {
  test('equals readInstances/readTraces, grouped by prompt; superseded records lose; unfinished prompts are named', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init, { resume: false });
    store.appendTrace(trace('b', 1));
    store.appendTrace(trace('a', 0, { stopReason: 'error', error: 'boom', confidences: encodeConfidences([]) }));
    store.appendTrace(trace('b', 0));
    store.appendTrace(trace('a', 1));
    store.appendInstance(instance('b'));
    store.appendInstance(instance('a', { errors: 1 }));
    store.appendTrace(trace('c', 0)); // a prompt interrupted before its instance record
    store.appendTrace(trace('a', 0, { text: 'redone' })); // --retry-errors re-appends the redone trace ...
    store.appendInstance(instance('a', { errors: 0 })); // ... and the prompt
    store.close();
    appendFileSync(join(dir, 'traces.jsonl'), '{"instanceId":"a","traceIn'); // a write cut by kill -9

    const opened = RunStore.open(dir);
    const read = readRunContents(opened);
    expect(
      read.prompts.map((p) => [p.instance.instanceId, p.instance.errors, p.traces.map((t) => [t.traceIndex, t.text])]),
    ).toEqual([
      [
        'b',
        0,
        [
          [0, 'answer b#0'],
          [1, 'answer b#1'],
        ],
      ],
      [
        'a',
        0,
        [
          [0, 'redone'],
          [1, 'answer a#1'],
        ],
      ],
    ]);
    expect(read.unfinished).toEqual(['c']);
    const old = opened.readTraces();
    expect(read.traces.map((t) => `${t.instanceId}#${t.traceIndex}`)).toEqual(
      old.map((t) => `${t.instanceId}#${t.traceIndex}`),
    );
    read.traces.forEach((t, i) => {
      expect(t.confidences).toBeInstanceOf(Float64Array);
      expect([...t.confidences]).toEqual([...decodeConfidences(old[i]!.confidences)]);
      const { confidences: _a, ...rest } = t;
      const { confidences: _b, ...oldRest } = old[i]!;
      expect(rest).toEqual(oldRest);
    });
    expect(read.prompts.map((p) => p.instance)).toEqual(opened.readInstances());

    const lean = readRunContents(opened, { dropText: true });
    expect(lean.traces.every((t) => t.text === '' && t.reasoning === null)).toBe(true);
  });

  test('a malformed line in the middle names file and line', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init, { resume: false });
    store.appendTrace(trace('a', 0));
    store.close();
    appendFileSync(join(dir, 'traces.jsonl'), '{"instanceId": 3}\n');
    const err = (() => {
      try {
        readRunContents(RunStore.open(dir));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(RunStoreFormatError);
    expect((err as Error).message).toMatch(/traces\.jsonl:2: field instanceId/);
  });

  test('jsonlLines splits exactly across 1 MiB chunk boundaries, multi-byte characters included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.string({ maxLength: 30 }), fc.constant('€'.repeat(200_000)), fc.constant('x'.repeat(1_048_575))),
          { maxLength: 6 },
        ),
        fc.boolean(),
        (lines, cutTail) => {
          const dir = tmp();
          const file = join(dir, 'f.jsonl');
          const clean = lines.map((l) => l.replace(/\n/g, ' '));
          appendFileSync(file, clean.map((l) => `${l}\n`).join('') + (cutTail ? 'partial' : ''));
          expect([...jsonlLines(file)]).toEqual(clean.map((text, i) => ({ line: i + 1, text })));
        },
      ),
      { numRuns: 25 },
    );
    expect([...jsonlLines(join(tmp(), 'absent.jsonl'))]).toEqual([]);
  });
});
