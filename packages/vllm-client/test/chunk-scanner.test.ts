import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { sortedTopK } from '@deepconf-safety/vllm-client';
import { TraceDecoder } from '../src/internal/decoder.js';
import { alternativesList, ChatChunkScanner, scanChatChunk, ScannedTops } from '../src/internal/chunk-scanner.js';

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
    return style.asciiOnly
      ? s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      : s;
  }
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const sep = style.spaces ? ', ' : ',';
  if (Array.isArray(v)) return `[${v.map((x) => emit(x, style, depth + 1)).join(sep)}]`;
  const keys = Object.keys(v);
  const order = keys
    .map((k, i) => ({ k, w: style.order[(i + depth * 7) % style.order.length] ?? 0 }))
    .sort((a, b) => a.w - b.w);
  return `{${order.map(({ k }) => `${JSON.stringify(k)}:${style.spaces ? ' ' : ''}${emit(v[k]!, style, depth + 1)}`).join(sep)}}`;
}

const tokenText = fc.oneof(
  fc.constantFrom(' the', '"', '\\', 'é', '\u00e9', '😀', '\ud83d', 'a"b\\c', '\t', '', ' tok', '\\u00e9', '}]},{'),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);

const logprobLiteral = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -40, max: 0, noNaN: true }).map((x) => new Raw(JSON.stringify(x))) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '1e-05',
        '-1e-05',
        '-9999.0',
        '-0.0',
        '0',
        '-0',
        '-1.5E+2',
        '-2e-320',
        '-1e400',
        '-123456789012345678901234567890.5',
      )
      .map((s) => new Raw(s)),
  },
  // Not JSON: both paths must reject these alike.
  {
    weight: 1,
    arbitrary: fc.constantFrom('-01', '-1.', '.5', '+1', 'NaN', '-Infinity', '-1e', '--1').map((s) => new Raw(s)),
  },
);

const K = 3;

const topEntry = fc.record(
  {
    token: tokenText,
    logprob: logprobLiteral,
    bytes: fc.oneof(fc.constant(null), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 })),
  },
  { requiredKeys: ['token', 'logprob'] },
);

const contentEntry = fc
  .tuple(
    topEntry,
    fc.array(topEntry, { minLength: K, maxLength: K + 1 }),
    // A missing top_logprobs list is a protocol error now: rare, so most streams run on.
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }),
    fc.option(fc.constantFrom(1, 'x', { nested: 1 })),
  )
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
        // Text without logprobs is a protocol error now: mostly keep chunks without logprobs free of text.
        const text = entries !== null || (index === 1 && stop === 'x');
        if (content !== null && text) delta['content'] = content;
        if (reasoning !== null && text) delta[reasoning[0]] = reasoning[1];
        const choice: Record<string, Tree> = {
          index,
          delta,
          logprobs: entries === null ? null : { content: entries },
          finish_reason: null,
        };
        if (stop !== undefined) choice['stop_reason'] = stop;
        if (tokenIds !== undefined) choice['token_ids'] = tokenIds;
        return { choices: [choice] } as Record<string, Tree>;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, Tree>>({
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, Tree>>(
      { choices: [{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: 'stop', stop_reason: null }] },
      { choices: [{ index: 0, delta: { content: '.' }, logprobs: null, finish_reason: 'length' }] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, Tree>>(
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } },
      { choices: [{ index: 0, delta: { content: 'x' }, logprobs: null, finish_reason: null }], usage: null },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, Tree>>(
      { error: { message: 'boom', type: 'InternalServerError', code: 500 } },
      { object: 'error', message: 'flat', code: 400 },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, Tree>>(
      { choices: [{ index: 0, text: 'completions-shaped', logprobs: null, finish_reason: null }] },
      { choices: [{ index: 0, delta: { tool_calls: [] }, logprobs: null, finish_reason: null }] },
    ),
  },
);

const payload = fc
  .record({
    body: chunkBody,
    head: fc.record(
      {
        id: fc.constant('chatcmpl-1'),
        object: fc.constant('chat.completion.chunk'),
        created: fc.constant(1767225600),
        model: fc.constant('Qwen/Qwen3-8B'),
      },
      { requiredKeys: [] },
    ),
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

/** Payloads the scanner read in the last run that got to its end (-1: it ended at an error). */
let lastScanned = 0;

/**
 * Runs the decoder over the payloads, parsed by `parse` or, with 'payload', handed over raw as the transports do
 * (the decoder picks the scanner or JSON.parse); stops at the first error like the client does.
 */
function run(payloads: string[], parse: ((p: string) => unknown) | 'payload'): Outcome {
  const tokens: unknown[] = [];
  const d = new TraceDecoder({
    kind: 'chat',
    k: K,
    thinking: true,
    sink: (index, token, logprob, confidence, tops) => (
      tokens.push({ index, token, logprob, confidence, tops: sortedTopK(tops, K) }), false
    ),
  });
  try {
    lastScanned = -1;
    for (const p of payloads) {
      if ((parse === 'payload' ? d.feedPayload(p) : d.feed(parse(p))) === 'error')
        return { tokens, final: { error: d.inBandError } };
    }
  } catch (err) {
    // JSON.parse's own error and the decoder's ProtocolError for it say the same thing.
    if (err instanceof SyntaxError || /is an event that is not JSON/.test((err as Error).message))
      return { error: 'not JSON' };
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
  lastScanned = d.scannedChunks;
  const { text, reasoning } = d.splitter.finish();
  return {
    tokens,
    final: {
      text,
      reasoning,
      tokens: d.tokens,
      confidences: Array.from(d.confidences),
      finish: d.serverFinishReason,
      stop: d.stopReason,
      usage: d.usage,
      error: d.inBandError,
    },
  };
}

/** A scanned chunk with its lists copied out, shaped as JSON.parse's (minus the fields the scanner skips). */
function plainScanned(
  chunk: NonNullable<ReturnType<typeof scanChatChunk>>,
): NonNullable<ReturnType<typeof scanChatChunk>> {
  const [c] = chunk.choices;
  if (c.logprobs?.content === undefined || c.logprobs.content === null) return chunk;
  const content = c.logprobs.content.map((e) =>
    e.top_logprobs instanceof ScannedTops ? { ...e, top_logprobs: alternativesList(e.top_logprobs) } : e,
  );
  return { choices: [{ ...c, logprobs: { ...c.logprobs, content } }] } as unknown as NonNullable<
    ReturnType<typeof scanChatChunk>
  >;
}

describe('chunk scanner vs JSON.parse', () => {
  test('random vLLM-shaped streams decode identically through both paths (tokens, confidences, text, errors)', () => {
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 8 }), (payloads) => {
        const reference = run(payloads, (p) => JSON.parse(p));
        expect(run(payloads, 'payload')).toEqual(reference);
      }),
      { numRuns: 400 },
    );
    // Invalid literals end most of those streams early; streams of valid JSON run on, through the scanner.
    const valid = payload.filter((p) => {
      try {
        JSON.parse(p);
        return true;
      } catch {
        return false;
      }
    });
    // Each stream opens as vLLM's does (role chunk, a token chunk) and ends with a token chunk in vLLM's layout, so
    // every run that gets to its end hands that chunk to the scanner: the property cannot hold vacuously.
    const role =
      '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}';
    const token = (t: string) =>
      `{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"${t}"},"logprobs":{"content":[{"token":"${t}","logprob":-0.5,"bytes":[97],"top_logprobs":[{"token":"${t}","logprob":-0.5,"bytes":[97]},{"token":"b","logprob":-1,"bytes":[98]},{"token":"c","logprob":-2,"bytes":[99]},{"token":"d","logprob":-3,"bytes":[100]}]}]},"finish_reason":null}]}`;
    fc.assert(
      fc.property(fc.array(valid, { minLength: 0, maxLength: 14 }), (middle) => {
        const payloads = [role, token('a'), ...middle, token('z')];
        const scanned = run(payloads, 'payload');
        const count = lastScanned;
        expect(scanned).toEqual(run(payloads, (p) => JSON.parse(p)));
        if (count !== -1) expect(count).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  test('whatever the scanner accepts is valid JSON with the same values where the decoder reads', () => {
    let accepted = 0;
    fc.assert(
      fc.property(payload, (p) => {
        if (expectSameAsJsonParse(p)) accepted++;
      }),
      { numRuns: 500 },
    );
    // The property is empty if the scanner never accepts: the generator must hit its fast path often.
    expect(accepted).toBeGreaterThan(50);
  });
});

/**
 * Scans `p`; when the scanner accepts it, checks it against JSON.parse where the decoder reads (numbers bit for bit,
 * including -0 and subnormals, which a JSON round trip would not show). Returns whether it was accepted.
 */
function expectSameAsJsonParse(p: string, scanner = new ChatChunkScanner()): boolean {
  const raw = scanner.scan(p);
  if (raw === null) return false;
  const scanned = plainScanned(raw);
  const parsed = JSON.parse(p) as { choices: Record<string, unknown>[] };
  const c = parsed.choices[0]!;
  const s = scanned.choices[0];
  expect(parsed.choices).toHaveLength(1);
  expect(s.index).toBe(c['index']);
  expect(s.delta).toEqual(c['delta']);
  expect(s.finish_reason).toBe(c['finish_reason']);
  const strip = (lp: unknown) =>
    JSON.parse(
      JSON.stringify(lp ?? null, (k, v: unknown) => (k === 'bytes' || k === 'extra_field' ? undefined : v)),
    ) as unknown;
  expect(strip(s.logprobs)).toEqual(strip(c['logprobs']));
  const nums = (lp: unknown): number[] =>
    (
      (lp as { content?: { logprob: number; top_logprobs?: { logprob: number }[] | null }[] | null } | null)?.content ??
      []
    ).flatMap((e) => [e.logprob, ...(e.top_logprobs ?? []).map((t) => t.logprob)]);
  const x = nums(s.logprobs);
  const y = nums(c['logprobs']);
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Object.is(v, y[i])).toBe(true));
  return true;
}

describe("chunk scanner on vLLM's own layout (the one-regex path for top_logprobs)", () => {
  const validLogprob = fc.oneof(
    { weight: 6, arbitrary: fc.double({ min: -40, max: 0, noNaN: true }).map((x) => JSON.stringify(x)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '1e-05',
        '-1e-05',
        '-9999.0',
        '-0.0',
        '0',
        '-0',
        '-1.5E+2',
        '-2e-320',
        '-1e400',
        '-0.26887786388397217',
      ),
    },
  );
  const alternative = fc.record({
    token: tokenText,
    logprob: validLogprob,
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }),
  });
  const str = (t: string, asciiOnly: boolean) => {
    const j = JSON.stringify(t);
    return asciiOnly
      ? j.replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
      : j;
  };
  const vllmPayload = fc
    .record({
      sampled: alternative,
      others: fc.array(alternative, { minLength: K, maxLength: K }),
      content: tokenText,
      asciiOnly: fc.boolean(),
    })
    .map(({ sampled, others, content, asciiOnly }) => {
      const entry = (a: typeof sampled) =>
        `{"token":${str(a.token, asciiOnly)},"logprob":${a.logprob},"bytes":[${a.bytes.join(',')}]}`;
      const tops = [sampled, ...others].map(entry).join(',');
      return (
        `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":${str(content, asciiOnly)}},` +
        `"logprobs":{"content":[{"token":${str(sampled.token, asciiOnly)},"logprob":${sampled.logprob},"bytes":[${sampled.bytes.join(',')}],"top_logprobs":[${tops}]}]},"finish_reason":null,"token_ids":null}]}`
      );
    });

  test('accepts every such chunk and reads it as JSON.parse does', () => {
    fc.assert(
      fc.property(vllmPayload, (p) => {
        expect(expectSameAsJsonParse(p)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('a one-character change anywhere is declined unless it is still JSON, and then read as JSON.parse does (property)', () => {
    const significant = [
      '"',
      '\\',
      ',',
      ':',
      '{',
      '}',
      '[',
      ']',
      '0',
      '1',
      '9',
      'e',
      'E',
      '.',
      '+',
      '-',
      ' ',
      '\u0001',
      'u',
      'n',
      'a',
    ];
    const edit = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      ch: fc.constantFrom(...significant),
    });
    let declined = 0;
    let stillJson = 0;
    fc.assert(
      fc.property(vllmPayload, edit, (p, { at, kind, ch }) => {
        const i = at % p.length;
        const mutated =
          kind === 'delete'
            ? p.slice(0, i) + p.slice(i + 1)
            : p.slice(0, i) + ch + p.slice(kind === 'replace' ? i + 1 : i);
        let valid = true;
        try {
          JSON.parse(mutated);
        } catch {
          valid = false;
        }
        // A scanner that has read the original knows its head and tail, and reads only the choice when both recur.
        const primed = new ChatChunkScanner();
        expect(primed.scan(p)).not.toBeNull();
        if (!valid) {
          expect(scanChatChunk(mutated)).toBeNull();
          expect(primed.scan(mutated)).toBeNull();
          declined++;
        } else {
          stillJson++;
          expectSameAsJsonParse(mutated);
          expectSameAsJsonParse(mutated, primed);
        }
      }),
      { numRuns: 3000 },
    );
    expect(declined).toBeGreaterThan(500);
    expect(stillJson).toBeGreaterThan(100);
  });
});

describe('chunk scanner cases', () => {
  test('a scanned list reads like the parsed one, by index and as a copy', () => {
    const scanned = scanChatChunk(plain)!.choices[0].logprobs!.content![0]!.top_logprobs as ScannedTops;
    expect(scanned).toBeInstanceOf(ScannedTops);
    expect(scanned.length).toBe(2);
    expect([scanned.token(1), scanned.logprob(1)]).toEqual([' Lyon', -1.5e-5]);
    expect(alternativesList(scanned)).toEqual([
      { token: ' Paris', logprob: -0.25 },
      { token: ' Lyon', logprob: -1.5e-5 },
    ]);
  });

  const plain =
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" Paris"},' +
    '"logprobs":{"content":[{"token":" Paris","logprob":-0.25,"bytes":[32,80],"top_logprobs":[{"token":" Paris","logprob":-0.25,"bytes":[32,80]},{"token":" Lyon","logprob":-1.5e-05,"bytes":null}]}]},"finish_reason":null,"token_ids":null}]}';

  test('reads a plain token chunk (the fast path is taken)', () => {
    expect(plainScanned(scanChatChunk(plain)!)).toEqual({
      choices: [
        {
          index: 0,
          delta: { content: ' Paris' },
          logprobs: {
            content: [
              {
                token: ' Paris',
                logprob: -0.25,
                top_logprobs: [
                  { token: ' Paris', logprob: -0.25 },
                  { token: ' Lyon', logprob: -1.5e-5 },
                ],
              },
            ],
          },
          finish_reason: null,
        },
      ],
    });
  });

  test('decodes escaped tokens like JSON.parse', () => {
    const p = plain.replaceAll('" Lyon"', '"\\"\\\\\\u00e9\\ud83d\\ude00"');
    expect(scanChatChunk(p)?.choices[0].logprobs?.content?.[0]?.top_logprobs?.token(1)).toBe('"\\é😀');
  });

  test.each([
    ['whitespace', plain.replace('"index":0', '"index": 0')],
    ['a finish reason', plain.replace('"finish_reason":null', '"finish_reason":"stop"')],
    ['usage', plain.replace('"model":"m"', '"usage":{"prompt_tokens":1,"total_tokens":2}')],
    ['an error field', plain.replace('"model":"m"', '"error":{"message":"x"}')],
    ['object "error"', plain.replace('"object":"chat.completion.chunk"', '"object":"error"')],
    ['two choices', plain.replace('"token_ids":null}]', '"token_ids":null},{"index":1,"finish_reason":null}]')],
    [
      'a duplicate key',
      plain.replace('"logprob":-0.25,"bytes":[32,80],"top', '"logprob":-0.25,"logprob":-1,"bytes":[32,80],"top'),
    ],
    ['an unknown choice key', plain.replace('"token_ids":null', '"text":"x"')],
    ['a nested unknown value', plain.replace('"model":"m"', '"model":{"a":1}')],
    ['a raw control character', plain.replace(' Lyon', ' Ly\u0001on')],
    ['a leading zero', plain.replace('-0.25,"bytes":[32,80]}', '-00.25,"bytes":[32,80]}')],
    ['trailing bytes', plain + ' '],
    ['a truncated payload', plain.slice(0, -3)],
  ])('declines %s (JSON.parse decides)', (_what, p) => {
    expect(scanChatChunk(p)).toBeNull();
  });

  test('the decoder scans only after the first chunk with logprobs, never on completions, and rejects non-JSON', () => {
    const role =
      '{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}';
    const chat = new TraceDecoder({ kind: 'chat', k: 1, thinking: false, sink: () => false });
    chat.feedPayload(role);
    chat.feedPayload(plain);
    expect(chat.scannedChunks).toBe(0);
    chat.feedPayload(plain);
    chat.feedPayload(plain);
    expect(chat.scannedChunks).toBe(2);
    expect(chat.tokens).toBe(3);
    const completions = new TraceDecoder({ kind: 'completions', k: 1, thinking: false, sink: () => false });
    completions.feedPayload('{"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":null}]}');
    completions.feedPayload('{"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":null}]}');
    expect(completions.scannedChunks).toBe(0);
    expect(() => chat.feedPayload('{not json')).toThrow(/stream chunk 4 is an event that is not JSON: "\{not json"/);
  });
});
