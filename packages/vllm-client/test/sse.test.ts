import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { SseSplitter } from '../src/internal/sse.js';
import { fixture } from './replay-server.js';

const collect = (parts: Uint8Array[]): string[] => {
  const s = new SseSplitter();
  const out: string[] = [];
  for (const p of parts) s.push(p, out);
  return out;
};

describe('SseSplitter', () => {
  const chat = fixture('chat_stream_logprobs_n2.sse');
  const bytes = new TextEncoder().encode(chat);
  const expected = chat
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => e.slice('data: '.length));

  test('returns each data payload of the fixture, ending with [DONE]', () => {
    const out = collect([bytes]);
    expect(out).toEqual(expected);
    expect(out.at(-1)).toBe('[DONE]');
    for (const p of out.slice(0, -1)) expect(() => JSON.parse(p)).not.toThrow();
  });

  test('any split of the byte stream gives the same payloads (also inside multi-byte characters)', () => {
    const text = 'data: {"t":"é€😀"}\n\n' + chat;
    const all = new TextEncoder().encode(text);
    const whole = collect([all]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: all.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), all.length];
        const parts = points.slice(1).map((end, i) => all.subarray(points[i], end));
        expect(collect(parts)).toEqual(whole);
      }),
      { numRuns: 200 },
    );
    expect(whole[0]).toBe('{"t":"é€😀"}');
  });

  test('follows the SSE spec beyond vLLM: CRLF, comments, other fields, multi-line data', () => {
    const enc = new TextEncoder();
    const text = ': keep-alive\r\n\r\nevent: x\r\nid: 7\r\ndata: a\r\ndata:b\r\n\r\ndata\n\ndata: c\n\n\n\ndata: d\n\n';
    // Split in the middle of a CRLF pair on purpose.
    const i = text.indexOf('\r\n') + 1;
    expect(collect([enc.encode(text.slice(0, i)), enc.encode(text.slice(i))])).toEqual(['a\nb', '', 'c', 'd']);
  });

  test('the per-read fast path (whole vLLM events in one read) agrees with the general path on mixed layouts', () => {
    // Fed one byte at a time no read holds a complete event, so only the general path runs: that is the reference.
    const event = fc.oneof(
      { weight: 4, arbitrary: fc.string({ maxLength: 12 }).map((d) => `data: ${d.replace(/[\r\n]/g, '')}\n\n`) },
      fc.constantFrom(
        'data:x\n\n',
        'data\n\n',
        ': c\n\n',
        'data: a\ndata: b\n\n',
        'data: a\r\n\r\n',
        '\n',
        '\r\n',
        'event: e\ndata: z\n\n',
        'data: é\n\n',
        'dat',
        'data: {"x":1}\n',
      ),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), fc.uniqueArray(fc.nat(400), { maxLength: 6 }), (events, cuts) => {
        const all = new TextEncoder().encode(events.join(''));
        const bytewise = new SseSplitter();
        const reference: string[] = [];
        for (let i = 0; i < all.length; i++) bytewise.push(all.subarray(i, i + 1), reference);
        const points = [0, ...cuts.filter((c) => c > 0 && c < all.length).sort((a, b) => a - b), all.length];
        const split = new SseSplitter();
        const out: string[] = [];
        for (let i = 1; i < points.length; i++) split.push(all.subarray(points[i - 1], points[i]), out);
        expect(out).toEqual(reference);
        expect(split.pending).toBe(bytewise.pending);
      }),
      { numRuns: 300 },
    );
  });

  test('an unterminated event stays pending instead of being emitted', () => {
    const s = new SseSplitter();
    const out: string[] = [];
    s.push(new TextEncoder().encode('data: {"a":1}\n\ndata: {"b"'), out);
    expect(out).toEqual(['{"a":1}']);
    expect(s.pending).toBe('data: {"b"');
  });
});
