import { describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

  test('a summary instead of the values: the summary sees exact values, readConfidences reads the latest record back', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init, { resume: false });
    const values = (k: number) => [k + 0.1, k / 3, 1e-300 * k, -k - 1e-12];
    store.appendTrace(trace('a', 0, { confidences: encodeConfidences(values(1)), text: 'é€ multi-byte before' }));
    store.appendTrace(trace('a', 1, { confidences: encodeConfidences(values(2)) }));
    store.appendInstance(instance('a'));
    store.appendTrace(trace('a', 0, { confidences: encodeConfidences(values(3)) })); // redone: supersedes values(1)
    store.close();

    const seen: number[][] = [];
    const read = readRunContents(RunStore.open(dir), {
      confidences: (v, t) => {
        seen.push([...v]);
        return { n: v.length, first: v[0], id: `${t.instanceId}#${t.traceIndex}` };
      },
    });
    // Called once per record, in file order, with exactly the stored values.
    expect(seen).toEqual([values(1), values(2), values(3)]);
    expect(read.traces.map((t) => t.confidences)).toEqual([
      { n: 4, first: 2.1, id: 'a#1' },
      { n: 4, first: 3.1, id: 'a#0' },
    ]);
    expect(read.traces.map((t) => [...read.readConfidences(t)])).toEqual([values(2), values(3)]);
    // A trace of another read is refused, not answered from some other line.
    const other = { ...read.traces[0]! };
    expect(() => read.readConfidences(other)).toThrow(RunStoreFormatError);
    // Values kept (the default): readConfidences gives them as they are.
    const kept = readRunContents(RunStore.open(dir));
    expect(kept.readConfidences(kept.traces[1]!)).toBe(kept.traces[1]!.confidences);
  });

  test('readConfidences names the line when traces.jsonl was rewritten under the read', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init, { resume: false });
    store.appendTrace(trace('a', 0));
    store.appendTrace(trace('a', 1));
    store.close();
    const read = readRunContents(RunStore.open(dir), { confidences: () => null });
    const file = join(dir, 'traces.jsonl');
    const [first, second] = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, `${second}\n${first}\n`);
    expect(() => read.readConfidences(read.traces[0]!)).toThrow(/traces\.jsonl:1: holds a#1 where the read found a#0/);
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

  test('jsonlLines splits exactly across 1 MiB chunk boundaries, multi-byte characters included, with byte offsets', () => {
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
          // Each line's byte offset is where it starts in the file (what `readConfidences` seeks to).
          const offsets = clean.map((_, i) => clean.slice(0, i).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0));
          expect([...jsonlLines(file)]).toEqual(clean.map((text, i) => ({ line: i + 1, text, offset: offsets[i] })));
        },
      ),
      { numRuns: 25 },
    );
    expect([...jsonlLines(join(tmp(), 'absent.jsonl'))]).toEqual([]);
  });
});
