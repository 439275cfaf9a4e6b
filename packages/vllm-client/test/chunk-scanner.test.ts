import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { TraceDecoder, sortedTopK } from '@deepconf-safety/vllm-client';
import { ChunkParser, scanChatChunk } from '../src/chunk-scanner.js';

// The scanner must be indistinguishable from JSON.parse for the decoder: every payload goes through both paths and
// every token, the final state and any error must be identical (numbers compared with Object.is, i.e. bit for bit).

/** A literal written as is, to produce number spellings JSON.stringify never does (1e-05, -9999.0, 1E+2, invalid ones). */
class Raw {
  constructor(readonly text: string) {}
}
type Tree = Raw | string | number | boolean | null | Tree[] | { [key: string]: Tree };

type Style = { asciiOnly: boolean; spaces: boolean; order: number[] };

/** A serializer with shuffled key order, optional \uXXXX escapes for non-ASCII (Python's ensure_ascii) and spaces. */
function emit(v: Tree, style: Style, depth = 0): string {
  if (v instanceof Raw) return v.text;
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return style.asciiOnly ? s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : s;
  }
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const sep = style.spaces ? ', ' : ',';
  if (Array.isArray(v)) return `[${v.map((x) => emit(x, style, depth + 1)).join(sep)}]`;
  const keys = Object.keys(v);
  const order = keys.map((k, i) => ({ k, w: style.order[(i + depth * 7) % style.order.length] ?? 0 })).sort((a, b) => a.w - b.w);
  return `{${order.map(({ k }) => `${JSON.stringify(k)}:${style.spaces ? ' ' : ''}${emit(v[k]!, style, depth + 1)}`).join(sep)}}`;
}

const tokenText = fc.oneof(
  fc.constantFrom(' the', '"', '\\', 'é', '\u00e9', '😀', '\ud83d', 'a"b\\c', '\t', '', ' tok', '\\u00e9', '}]},{'),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);

const logprobLiteral = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -40, max: 0, noNaN: true }).map((x) => new Raw(JSON.stringify(x))) },
  { weight: 2, arbitrary: fc.constantFrom('1e-05', '-1e-05', '-9999.0', '-0.0', '0', '-0', '-1.5E+2', '-2e-320', '-1e400', '-123456789012345678901234567890.5').map((s) => new Raw(s)) },
  // Not JSON: both paths must reject these alike.
  { weight: 1, arbitrary: fc.constantFrom('-01', '-1.', '.5', '+1', 'NaN', '-Infinity', '-1e', '--1').map((s) => new Raw(s)) },
);

const K = 3;

const topEntry = fc.record(
  { token: tokenText, logprob: logprobLiteral, bytes: fc.oneof(fc.constant(null), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 })) },
  { requiredKeys: ['token', 'logprob'] },
);

const contentEntry = fc
  .tuple(topEntry, fc.array(topEntry, { minLength: K, maxLength: K + 1 }), fc.oneof(fc.constant(undefined), fc.constant(null)), fc.option(fc.constantFrom(1, 'x', { nested: 1 })))
  .map(([sampled, others, nullTops, extra]) => {
    const entry: Record<string, Tree> = { ...sampled, top_logprobs: nullTops === null ? null : [sampled, ...others] };
    if (extra !== null) entry['extra_field'] = extra;
    return entry;
  });

const chunkBody = fc.oneof(
  // The hot case: a plain token chunk, sometimes with several entries, reasoning text or extra fields.
  {
    weight: 8,
    arbitrary: fc
      .record({
        content: fc.option(tokenText),
        reasoning: fc.option(fc.tuple(fc.constantFrom('reasoning_content', 'reasoning'), tokenText)),
        entries: fc.oneof(fc.constant(null), fc.array(contentEntry, { minLength: 1, maxLength: 3 })),
        stop: fc.constantFrom(undefined, null, 7, 'x'),
        tokenIds: fc.constantFrom<Tree | undefined>(undefined, null, [1, 2]),
        index: fc.constantFrom(0, 0, 0, 1),
      })
      .map(({ content, reasoning, entries, stop, tokenIds, index }) => {
        const delta: Record<string, Tree> = {};
        if (content !== null) delta['content'] = content;
        if (reasoning !== null) delta[reasoning[0]] = reasoning[1];
        const choice: Record<string, Tree> = { index, delta, logprobs: entries === null ? null : { content: entries }, finish_reason: null };
        if (stop !== undefined) choice['stop_reason'] = stop;
        if (tokenIds !== undefined) choice['token_ids'] = tokenIds;
        return { choices: [choice] } as Record<string, Tree>;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, Tree>>({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, Tree>>({ choices: [{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: 'stop', stop_reason: null }] }, { choices: [{ index: 0, delta: { content: '.' }, logprobs: null, finish_reason: 'length' }] }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, Tree>>({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } }, { choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: null }], usage: null }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, Tree>>({ error: { message: 'boom', type: 'InternalServerError', code: 500 } }, { object: 'error', message: 'flat', code: 400 }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, Tree>>({ choices: [{ index: 0, text: 'completions-shaped', logprobs: null, finish_reason: null }] }, { choices: [{ index: 0, delta: { tool_calls: [] }, logprobs: null, finish_reason: null }] }) },
);

const payload = fc
  .record({
    body: chunkBody,
    head: fc.record({ id: fc.constant('chatcmpl-1'), object: fc.constant('chat.completion.chunk'), created: fc.constant(1767225600), model: fc.constant('Qwen/Qwen3-8B') }, { requiredKeys: [] }),
    extra: fc.option(fc.constantFrom<Tree>(1, 'x', null, { nested: [1] }, [1, 2], true)),
    style: fc.record({ asciiOnly: fc.boolean(), order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }) }),
    spaces: fc.nat(20).map((n) => n === 0),
  })
  .map(({ body, head, extra, style, spaces }) => {
    const tree: Record<string, Tree> = { ...head, ...body };
    if (extra !== null) tree['system_fingerprint'] = extra;
    return emit(tree, { ...style, spaces });
  });

type Outcome = { tokens: unknown[]; final: unknown } | { error: string };

/** Runs the decoder over the payloads with the given parser; stops at the first error like the client does. */
function run(payloads: string[], parse: (p: string) => unknown): Outcome {
  const tokens: unknown[] = [];
  const d = new TraceDecoder({
    kind: 'chat',
    k: K,
    thinking: true,
    sink: (index, token, logprob, confidence, tops) => (tokens.push({ index, token, logprob, confidence, tops: sortedTopK(tops, K) }), false),
  });
  try {
    for (const p of payloads) {
      if (d.feed(parse(p)) === 'error') break;
    }
  } catch (err) {
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
  const { text, reasoning } = d.splitter.finish();
  return {
    tokens,
    final: { text, reasoning, tokens: d.tokens, confidences: Array.from(d.confidences), finish: d.serverFinishReason, stop: d.stopReason, usage: d.usage, error: d.inBandError },
  };
}

/** The payloads' scanned forms where the scanner accepts them, JSON.parse otherwise: the scanner on every payload. */
const scanFirst = (p: string): unknown => scanChatChunk(p) ?? JSON.parse(p);

describe('chunk scanner vs JSON.parse', () => {
  test('random vLLM-shaped streams decode identically through both paths (tokens, confidences, text, errors)', () => {
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 8 }), (payloads) => {
        const reference = run(payloads, (p) => JSON.parse(p));
        expect(run(payloads, scanFirst)).toEqual(reference);
        const parser = new ChunkParser('chat');
        expect(run(payloads, (p) => parser.parse(p))).toEqual(reference);
      }),
      { numRuns: 400 },
    );
  });

  test('whatever the scanner accepts is valid JSON with the same values where the decoder reads', () => {
    let accepted = 0;
    fc.assert(
      fc.property(payload, (p) => {
        const scanned = scanChatChunk(p);
        if (scanned === null) return;
        accepted++;
        const parsed = JSON.parse(p) as { choices: Record<string, unknown>[] };
        const c = parsed.choices[0]!;
        const s = scanned.choices[0];
        expect(parsed.choices).toHaveLength(1);
        expect(s.index).toBe(c['index']);
        expect(s.delta).toEqual(c['delta']);
        expect(s.finish_reason).toBe(c['finish_reason']);
        const strip = (lp: unknown) =>
          JSON.parse(JSON.stringify(lp ?? null, (k, v: unknown) => (k === 'bytes' || k === 'extra_field' ? undefined : v))) as unknown;
        expect(strip(s.logprobs)).toEqual(strip(c['logprobs']));
        // Bit-identical numbers, including -0 and subnormals, which a JSON round trip would not show.
        const nums = (lp: unknown): number[] =>
          ((lp as { content?: { logprob: number; top_logprobs?: { logprob: number }[] | null }[] | null } | null)?.content ?? []).flatMap((e) => [e.logprob, ...(e.top_logprobs ?? []).map((t) => t.logprob)]);
        const a = nums(s.logprobs);
        const b = nums(c['logprobs']);
        expect(a.length).toBe(b.length);
        a.forEach((x, i) => expect(Object.is(x, b[i])).toBe(true));
      }),
      { numRuns: 500 },
    );
    // The property is empty if the scanner never accepts: the generator must hit its fast path often.
    expect(accepted).toBeGreaterThan(50);
  });
});

describe('chunk scanner cases', () => {
  const plain =
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" Paris"},' +
    '"logprobs":{"content":[{"token":" Paris","logprob":-0.25,"bytes":[32,80],"top_logprobs":[{"token":" Paris","logprob":-0.25,"bytes":[32,80]},{"token":" Lyon","logprob":-1.5e-05,"bytes":null}]}]},"finish_reason":null,"token_ids":null}]}';

  test('reads a plain token chunk (the fast path is taken)', () => {
    expect(scanChatChunk(plain)).toEqual({
      choices: [{ index: 0, delta: { content: ' Paris' }, logprobs: { content: [{ token: ' Paris', logprob: -0.25, top_logprobs: [{ token: ' Paris', logprob: -0.25 }, { token: ' Lyon', logprob: -1.5e-5 }] }] }, finish_reason: null }],
    });
  });

  test('decodes escaped tokens like JSON.parse', () => {
    const p = plain.replaceAll('" Lyon"', '"\\"\\\\\\u00e9\\ud83d\\ude00"');
    expect(scanChatChunk(p)?.choices[0].logprobs?.content?.[0]?.top_logprobs?.[1]?.token).toBe('"\\é😀');
  });

  test.each([
    ['whitespace', plain.replace('"index":0', '"index": 0')],
    ['a finish reason', plain.replace('"finish_reason":null', '"finish_reason":"stop"')],
    ['usage', plain.replace('"model":"m"', '"usage":{"prompt_tokens":1,"total_tokens":2}')],
    ['an error field', plain.replace('"model":"m"', '"error":{"message":"x"}')],
    ['object "error"', plain.replace('"object":"chat.completion.chunk"', '"object":"error"')],
    ['two choices', plain.replace('"token_ids":null}]', '"token_ids":null},{"index":1,"finish_reason":null}]')],
    ['a duplicate key', plain.replace('"logprob":-0.25,"bytes":[32,80],"top', '"logprob":-0.25,"logprob":-1,"bytes":[32,80],"top')],
    ['an unknown choice key', plain.replace('"token_ids":null', '"text":"x"')],
    ['a nested unknown value', plain.replace('"model":"m"', '"model":{"a":1}')],
    ['a raw control character', plain.replace(' Lyon', ' Ly\u0001on')],
    ['a leading zero', plain.replace('-0.25,"bytes":[32,80]}', '-00.25,"bytes":[32,80]}')],
    ['trailing bytes', plain + ' '],
    ['a truncated payload', plain.slice(0, -3)],
  ])('declines %s (JSON.parse decides)', (_what, p) => {
    expect(scanChatChunk(p)).toBeNull();
  });

  test('ChunkParser leaves the first payloads and completions streams to JSON.parse', () => {
    const chat = new ChunkParser('chat');
    // JSON.parse keeps "bytes"; the scanner drops it, which tells the two apart.
    const hasBytes = (x: unknown) => JSON.stringify(x).includes('"bytes"');
    expect(hasBytes(chat.parse(plain))).toBe(true);
    expect(hasBytes(chat.parse(plain))).toBe(true);
    expect(hasBytes(chat.parse(plain))).toBe(false);
    const completions = new ChunkParser('completions');
    for (let i = 0; i < 4; i++) expect(hasBytes(completions.parse(plain))).toBe(true);
    expect(() => chat.parse('{not json')).toThrow(SyntaxError);
  });
});
