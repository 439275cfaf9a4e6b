import { describe, expect, test } from '@jest/globals';
import { sortedTopK, type TopLogprob } from '@deepconf-safety/vllm-client';
import { TraceDecoder } from '../src/internal/decoder.js';
import { parseErrorBody } from '../src/schemas.js';
import { alternativesList } from '../src/internal/chunk-scanner.js';
import { fixture } from './replay-server.js';

type ChatChunk = {
  choices: {
    index: number;
    delta?: { content?: string };
    logprobs: { content: { token: string; logprob: number; top_logprobs: TopLogprob[] }[] } | null;
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

const rawPayloads = (name: string): string[] =>
  fixture(name)
    .split('\n\n')
    .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
    .map((e) => e.slice(6));
const payloads = (name: string): unknown[] => rawPayloads(name).map((p) => JSON.parse(p) as unknown);

/** Independent statement of the reference rule: mean of the top-K sorted values, or of all K+1 if the sampled token is not among the top K. */
function referenceConfidence(values: number[], k: number): number {
  const sampled = values[0]!;
  const sorted = [...values].sort((a, b) => b - a);
  const rank = sorted.filter((v) => v > sampled).length; // 0-based rank of the sampled value
  const kept = rank < k ? sorted.slice(0, k) : sorted;
  return -kept.reduce((a, b) => a + b, 0) / kept.length;
}

/** Feeds the fixture as the transports do (raw payloads: the chunk scanner reads the chat token chunks it accepts). */
function decode(name: string, kind: 'chat' | 'completions', k: number, choiceIndex = 0) {
  const seen: { index: number; token: string; logprob: number; confidence: number; tops: readonly TopLogprob[] }[] = [];
  const d = new TraceDecoder({
    kind,
    k,
    thinking: false,
    choiceIndex,
    sink: (index, token, logprob, confidence, tops) => (
      seen.push({ index, token, logprob, confidence, tops: alternativesList(tops) }), false
    ),
  });
  for (const p of rawPayloads(name)) expect(d.feedPayload(p)).toBe('more');
  return { d, seen, final: d.splitter.finish() };
}

describe('TraceDecoder on the shared chat fixture (n=2, top_logprobs=5, so K=4)', () => {
  const chunks = payloads('chat_stream_logprobs_n2.sse') as ChatChunk[];

  test('after the first chunk with logprobs, plain token chunks are read by the scanner, not JSON.parse', () => {
    const { d } = decode('chat_stream_logprobs_n2.sse', 'chat', 4, 0);
    const withLogprobs = chunks.findIndex((c) => c.choices.some((ch) => ch.logprobs !== null));
    const plain = chunks.filter(
      (c, i) =>
        i > withLogprobs && c.usage === undefined && c.choices.length === 1 && c.choices[0]?.finish_reason === null,
    );
    expect(plain.length).toBeGreaterThan(0);
    expect(d.scannedChunks).toBe(plain.length);
    expect(decode('completions_stream_logprobs5.sse', 'completions', 5).d.scannedChunks).toBe(0);
  });

  test.each([0, 1])('choice %i: tokens, text, finish reason and usage match the chunks', (choice) => {
    const mine = chunks.flatMap((c) => c.choices.filter((ch) => ch.index === choice));
    const entries = mine.flatMap((ch) => ch.logprobs?.content ?? []);
    const { d, seen, final } = decode('chat_stream_logprobs_n2.sse', 'chat', 4, choice);
    expect(d.tokens).toBe(entries.length);
    expect(seen.map((s) => s.token)).toEqual(entries.map((e) => e.token));
    expect(final.text).toBe(mine.map((ch) => ch.delta?.content ?? '').join(''));
    expect(d.serverFinishReason).toBe(mine.map((ch) => ch.finish_reason).find((f) => typeof f === 'string'));
    const usage = chunks.find((c) => c.usage !== undefined)!.usage!;
    expect(d.usage).toEqual({
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens,
    });
    const expected = entries.map((e) =>
      referenceConfidence(
        e.top_logprobs.map((t) => t.logprob),
        4,
      ),
    );
    expect(Array.from(d.confidences)).toHaveLength(expected.length);
    Array.from(d.confidences).forEach((c, i) => expect(c).toBeCloseTo(expected[i]!, 12));
  });

  test('choice 0 is the documented answer, choice 1 stops on length', () => {
    const a = decode('chat_stream_logprobs_n2.sse', 'chat', 4, 0);
    expect(a.final.text).toBe('The capital is Paris.');
    expect(a.d.tokens).toBe(6);
    const b = decode('chat_stream_logprobs_n2.sse', 'chat', 4, 1);
    expect(b.d.tokens).toBe(7);
    expect(b.d.serverFinishReason).toBe('length');
  });

  test('unsorted lists (sampled rank 2) and a sampled token outside the top K keep K resp. K+1 values', () => {
    const { seen } = decode('chat_stream_logprobs_n2.sse', 'chat', 4, 1);
    const outside = seen[4]!; // " and", rank 6
    expect(outside.token).toBe(' and');
    const sorted = sortedTopK(outside.tops, 4);
    expect(sorted).toHaveLength(5);
    expect(sorted.at(-1)!.token).toBe(' and');
    const rank2 = seen[0]!;
    expect(rank2.tops[0]!.logprob).toBeLessThan(rank2.tops[1]!.logprob);
    const s2 = sortedTopK(rank2.tops, 4);
    expect(s2).toHaveLength(4);
    for (let i = 1; i < s2.length; i++) expect(s2[i - 1]!.logprob).toBeGreaterThanOrEqual(s2[i]!.logprob);
    expect(rank2.confidence).toBeCloseTo(-s2.reduce((a, t) => a + t.logprob, 0) / 4, 12);
  });
});

describe('TraceDecoder on the shared completions fixture (logprobs=5, so K=5)', () => {
  test('dict entries rebuilt sampled-first; K or K+1 values per position', () => {
    const chunks = payloads('completions_stream_logprobs5.sse') as {
      choices: {
        text: string;
        logprobs: { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[] } | null;
      }[];
    }[];
    const { d, seen, final } = decode('completions_stream_logprobs5.sse', 'completions', 5);
    const positions = chunks.flatMap((c) =>
      c.choices.flatMap((ch) =>
        ch.logprobs === null
          ? []
          : ch.logprobs.tokens.map((t, j) => ({
              t,
              lp: ch.logprobs!.token_logprobs[j]!,
              dict: ch.logprobs!.top_logprobs[j]!,
            })),
      ),
    );
    expect(d.tokens).toBe(positions.length);
    expect(final.text).toBe(chunks.map((c) => c.choices[0]?.text ?? '').join(''));
    expect(d.serverFinishReason).toBe('length');
    positions.forEach((p, i) => {
      const s = seen[i]!;
      expect(s.tops[0]).toEqual({ token: p.t, logprob: p.lp });
      expect(s.tops).toHaveLength(Object.keys(p.dict).length);
      const values = [
        p.lp,
        ...Object.entries(p.dict)
          .filter(([key]) => key !== p.t)
          .map(([, v]) => v),
      ];
      expect(s.confidence).toBeCloseTo(referenceConfidence(values, 5), 12);
    });
    expect(seen.some((s) => s.tops.length === 6)).toBe(true);
  });
});

describe('TraceDecoder edge cases', () => {
  const chunk = (choice: Record<string, unknown>) => ({
    id: 'x',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, finish_reason: null, ...choice }],
  });
  const lp = (token: string, logprob: number, tops: [string, number][]) => ({
    token,
    logprob,
    top_logprobs: tops.map(([t, l]) => ({ token: t, logprob: l })),
  });

  test('several tokens in one chunk, text lagging behind logprobs, -9999 placeholders without data', () => {
    const seen: number[] = [];
    const d = new TraceDecoder({ kind: 'chat', k: 2, thinking: false, sink: (_i, _t, _l, c) => (seen.push(c), false) });
    d.feed(chunk({ delta: { role: 'assistant', content: '' }, logprobs: null }));
    d.feed(
      chunk({
        delta: { content: '' },
        logprobs: {
          content: [
            lp('A', -0.1, [
              ['A', -0.1],
              ['B', -2],
              ['C', -3],
            ]),
            lp('b', -0.2, [
              ['b', -0.2],
              ['x', -9999],
              ['y', -9999],
            ]),
          ],
        },
      }),
    );
    expect(d.splitter.text).toBe('');
    d.feed(chunk({ delta: { content: 'Abc' }, logprobs: { content: [lp('c', -9999, [])] }, finish_reason: 'stop' }));
    expect(d.tokens).toBe(3);
    expect(d.splitter.finish().text).toBe('Abc');
    expect(seen[0]).toBeCloseTo(1.05, 12);
    expect(seen[1]).toBeCloseTo((0.2 + 9999) / 2, 9);
    expect(seen[2]).toBeNaN();
    expect(Array.from(d.confidences)).toHaveLength(2);
  });

  test('fewer than K+1 alternatives is a clear protocol error, not a silent wrong confidence', () => {
    const d = new TraceDecoder({ kind: 'chat', k: 3, thinking: false, sink: () => false });
    expect(() =>
      d.feed(
        chunk({
          delta: { content: 'a' },
          logprobs: {
            content: [
              lp('a', -1, [
                ['a', -1],
                ['b', -2],
                ['c', -3],
              ]),
            ],
          },
        }),
      ),
    ).toThrow(/needs 4/);
  });

  test('stops inside a chunk at the token the sink asks for', () => {
    const d = new TraceDecoder({ kind: 'chat', k: 1, thinking: false, sink: (i) => i === 1 });
    const r = d.feed(
      chunk({
        delta: { content: 'xyz' },
        logprobs: {
          content: ['x', 'y', 'z'].map((t) =>
            lp(t, -1, [
              [t, -1],
              ['q', -4],
            ]),
          ),
        },
      }),
    );
    expect(r).toBe('stop');
    expect(d.stoppedAt).toBe(1);
    expect(d.tokens).toBe(2);
    // The text is that of the tokens up to the stop, not the rest of the chunk.
    expect(d.splitter.finish(true).text).toBe('xy');
  });

  test('in-band error event is reported, not parsed as a chunk', () => {
    const d = new TraceDecoder({ kind: 'chat', k: 1, thinking: false, sink: () => false });
    const err = { error: { message: 'boom', type: 'BadRequestError', param: 'logprobs', code: 400 } };
    expect(d.feed(err)).toBe('error');
    expect(d.inBandError).toBe(err);
  });

  test('malformed chunks raise ProtocolError, first chunk and later ones alike', () => {
    const mk = () => new TraceDecoder({ kind: 'chat', k: 1, thinking: false, sink: () => false });
    expect(() => mk().feed({ choices: [{ index: 0, delta: { content: 5 } }] })).toThrow(
      expect.objectContaining({ code: 'protocol' }),
    );
    expect(() => mk().feed('nope')).toThrow(expect.objectContaining({ code: 'protocol' }));
    const d = mk();
    d.feed(
      chunk({
        delta: { content: 'a' },
        logprobs: {
          content: [
            lp('a', -1, [
              ['a', -1],
              ['q', -4],
            ]),
          ],
        },
      }),
    );
    expect(() =>
      d.feed(
        chunk({ delta: { content: 'b' }, logprobs: { content: [{ token: 'b', logprob: '-1', top_logprobs: [] }] } }),
      ),
    ).toThrow(/logprob is not a number/);
    expect(() =>
      d.feed(
        chunk({
          delta: { content: 'b' },
          logprobs: {
            content: [
              lp('b', -1, [
                ['b', -1],
                ['q', -4],
              ]),
              {
                token: 'c',
                logprob: -1,
                top_logprobs: [
                  { token: 'c', logprob: null },
                  { token: 'q', logprob: -4 },
                ],
              },
            ],
          },
        }),
      ),
    ).toThrow(/top_logprobs: topLogprobs\[0\]: logprob must be a number/);
  });

  test('reasoning and reasoning_content fields feed the thinking text', () => {
    for (const field of ['reasoning', 'reasoning_content']) {
      const d = new TraceDecoder({ kind: 'chat', k: 1, thinking: true, sink: () => false });
      d.feed(
        chunk({
          delta: { [field]: 'Hmm.' },
          logprobs: {
            content: [
              lp('Hmm', -1, [
                ['Hmm', -1],
                ['q', -4],
              ]),
            ],
          },
        }),
      );
      d.feed(
        chunk({
          delta: { content: 'No.' },
          logprobs: {
            content: [
              lp('No', -1, [
                ['No', -1],
                ['q', -4],
              ]),
            ],
          },
          finish_reason: 'stop',
        }),
      );
      expect(d.splitter.finish()).toEqual({ reasoning: 'Hmm.', text: 'No.' });
    }
  });
});

describe('parseErrorBody', () => {
  test('reads the three vLLM error shapes and the shared fixture', () => {
    expect(parseErrorBody(JSON.parse(fixture('error_top_logprobs_too_large.json')))).toEqual({
      message: expect.stringContaining('max allowed: 20'),
      type: 'BadRequestError',
      param: 'logprobs',
      code: 400,
    });
    expect(parseErrorBody({ error: 'Unauthorized' })).toEqual({
      message: 'Unauthorized',
      type: null,
      param: null,
      code: null,
    });
    expect(
      parseErrorBody({ object: 'error', message: 'old', type: 'BadRequestError', param: null, code: 400 }),
    ).toEqual({ message: 'old', type: 'BadRequestError', param: null, code: 400 });
    expect(parseErrorBody({ detail: 'Not Found' })).toBeNull();
  });
});

describe('bad data from the server is named, never averaged in (issue 14, principle 5)', () => {
  const role =
    '{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}';
  const tops = (values: string) =>
    values
      .split(',')
      .map((v, i) => `{"token":"t${i}","logprob":${v},"bytes":[116]}`)
      .join(',');
  const tokenChunk = (logprob: string, list: string | null, content = 'a') =>
    `{"choices":[{"index":0,"delta":{"content":"${content}"},"logprobs":{"content":[{"token":"a","logprob":${logprob},"bytes":[97],"top_logprobs":${list === null ? 'null' : `[${list}]`}}]},"finish_reason":null}]}`;
  const good = tokenChunk('-0.5', tops('-0.5,-1,-2,-3'));
  /** Feeds role, two good chunks (so the scanner is in use), then `bad`: first as raw payloads, then parsed. */
  const outcomes = (bad: string) =>
    [true, false].map((raw) => {
      const d = new TraceDecoder({ kind: 'chat', k: 3, thinking: false, sink: () => false });
      try {
        for (const p of [role, good, good, bad]) raw ? d.feedPayload(p) : d.feed(JSON.parse(p));
        return { ok: true, confidences: Array.from(d.confidences) };
      } catch (err) {
        return { ok: false, code: (err as { code?: unknown }).code, message: (err as Error).message };
      }
    });

  test.each([
    [
      'a token without the top_logprobs asked for',
      tokenChunk('-0.5', null),
      /token 2 has no top_logprobs \(4 asked for\)/,
    ],
    [
      'an empty top_logprobs list beside a real logprob',
      tokenChunk('-0.5', ''),
      /token 2 has an empty top_logprobs list/,
    ],
    [
      'text with "logprobs": null',
      '{"choices":[{"index":0,"delta":{"content":"hidden"},"logprobs":null,"finish_reason":null}]}',
      /has text but "logprobs": null/,
    ],
    ['a positive sampled logprob', tokenChunk('0.5', tops('0.5,-1,-2,-3')), /logprob is 0\.5; a logprob is ≤ 0/],
    ['a positive alternative', tokenChunk('-0.5', tops('-0.5,1e-3,-2,-3')), /top_logprobs holds a logprob > 0 or NaN/],
  ])('%s: a protocol error on the scanner path and the JSON.parse path alike', (_name, bad, message) => {
    for (const o of outcomes(bad))
      expect(o).toMatchObject({ ok: false, code: 'protocol', message: expect.stringMatching(message) });
  });

  test('a NaN logprob (a parsed chunk can hold one; JSON cannot) is a protocol error', () => {
    const d = new TraceDecoder({ kind: 'chat', k: 3, thinking: false, sink: () => false });
    d.feed(JSON.parse(role));
    // The first chunk with logprobs is schema-checked (zod refuses NaN too); later ones by the decoder's own checks.
    d.feed(JSON.parse(good));
    const chunk = JSON.parse(good) as { choices: [{ logprobs: { content: [{ logprob: number }] } }] };
    chunk.choices[0].logprobs.content[0].logprob = Number.NaN;
    expect(() => d.feed(chunk)).toThrow(
      expect.objectContaining({ code: 'protocol', message: expect.stringMatching(/logprob is NaN/) }),
    );
  });

  test("vLLM's own no-data position (-9999 with no alternatives) still counts as a token without a confidence", () => {
    for (const o of outcomes(tokenChunk('-9999.0', '')))
      expect(o).toEqual({ ok: true, confidences: [0.5 + 1 + 2, 0.5 + 1 + 2].map((s) => s / 3) });
  });

  test('completions: a number without its dict, and text without logprobs, are protocol errors', () => {
    const d = () => new TraceDecoder({ kind: 'completions', k: 2, thinking: false, sink: () => false });
    expect(() =>
      d().feed({
        choices: [{ index: 0, text: 'a', logprobs: { tokens: ['a'], token_logprobs: [-0.5], top_logprobs: [null] } }],
      }),
    ).toThrow(/no top_logprobs/);
    expect(() => d().feed({ choices: [{ index: 0, text: 'a', logprobs: null }] })).toThrow(
      /has text but "logprobs": null/,
    );
    expect(() =>
      d().feed({
        choices: [
          {
            index: 0,
            text: 'a',
            logprobs: { tokens: ['a'], token_logprobs: [-0.5], top_logprobs: [{ a: -0.5, b: 2 }] },
          },
        ],
      }),
    ).toThrow(/not a logprob ≤ 0/);
  });
});

// How many tokens a chunk carries depends on timing (vLLM merges deltas when the client falls behind; the emulator
// merges steps it is late for), so what a stopped trace records must not: its text is that of its tokens up to the
// stop (or up to max_tokens), however the stream was cut (issue 15).
describe('a stopped trace keeps the text of its tokens up to the stop, however the stream was chunked', () => {
  const tokens = ['I', ' can', "'t", ' help', ' with', ' that', '.', ' However', ',', ' I', ' can', ' explain'];
  /** Every way of cutting the stream into chunks of 1–4 tokens that this test uses: single, pairs, 3-4-5, all in one. */
  const cuts: number[][] = [tokens.map(() => 1), [2, 2, 2, 2, 2, 2], [3, 4, 5], [1, 4, 4, 3], [tokens.length]];
  const chatChunks = (
    sizes: number[],
    toks = tokens,
    text = (from: number, to: number) => toks.slice(from, to).join(''),
  ) => {
    const out: unknown[] = [{ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null }] }];
    let at = 0;
    for (const size of sizes) {
      const entries = toks.slice(at, at + size).map((t) => ({
        token: t,
        logprob: -0.5,
        top_logprobs: [
          { token: t, logprob: -0.5 },
          { token: '~', logprob: -3 },
        ],
      }));
      out.push({
        choices: [
          { index: 0, delta: { content: text(at, at + size) }, logprobs: { content: entries }, finish_reason: null },
        ],
      });
      at += size;
    }
    return out;
  };
  const completionChunks = (sizes: number[]) => {
    const out: unknown[] = [];
    let at = 0;
    for (const size of sizes) {
      const toks = tokens.slice(at, at + size);
      out.push({
        choices: [
          {
            index: 0,
            text: toks.join(''),
            logprobs: {
              tokens: toks,
              token_logprobs: toks.map(() => -0.5),
              top_logprobs: toks.map((t) => ({ [t]: -0.5, '~': -3 })),
            },
            finish_reason: null,
          },
        ],
      });
      at += size;
    }
    return out;
  };
  const run = (kind: 'chat' | 'completions', chunks: unknown[], stopAt: number | null, maxTokens?: number) => {
    const running: string[] = [];
    const d: TraceDecoder = new TraceDecoder({
      kind,
      k: 1,
      thinking: false,
      ...(maxTokens === undefined ? {} : { maxTokens }),
      sink: (i) => {
        running.push(d.splitter.text);
        return i === stopAt;
      },
    });
    for (const c of chunks) if (d.feed(c) === 'stop') break;
    return { d, text: d.splitter.finish(true).text, running };
  };

  test.each(['chat', 'completions'] as const)('%s: early stop at each token', (kind) => {
    for (let stop = 0; stop < tokens.length; stop++) {
      for (const sizes of cuts) {
        const chunks = kind === 'chat' ? chatChunks(sizes) : completionChunks(sizes);
        const { d, text, running } = run(kind, chunks, stop);
        expect({ sizes, stop, text, tokens: d.tokens, stoppedAt: d.stoppedAt }).toEqual({
          sizes,
          stop,
          text: tokens.slice(0, stop + 1).join(''),
          tokens: stop + 1,
          stoppedAt: stop,
        });
        // The running text a token hook sees is that of the tokens up to it, too.
        expect(running).toEqual(tokens.slice(0, stop + 1).map((_t, i) => tokens.slice(0, i + 1).join('')));
      }
    }
  });

  test.each(['chat', 'completions'] as const)('%s: a server that overruns max_tokens', (kind) => {
    for (const sizes of cuts) {
      const { d, text } = run(kind, kind === 'chat' ? chatChunks(sizes) : completionChunks(sizes), null, 5);
      expect({ sizes, text, tokens: d.tokens, overran: d.overran }).toEqual({
        sizes,
        text: tokens.slice(0, 5).join(''),
        tokens: 5,
        overran: true,
      });
    }
  });

  test('tokens without text of their own (EOS, a <think> tag a reasoning parser took out) and a reasoning/content split', () => {
    const toks = ['<think>', 'Hmm', '.', '</think>', 'No', '.', '<|im_end|>'];
    // As the emulator and vLLM's parser send a merged chunk: reasoning, then content, without the tags or EOS.
    const split = (from: number, to: number) => {
      const reasoning = toks
        .slice(from, Math.min(to, 3))
        .filter((t) => t !== '<think>')
        .join('');
      const content = toks
        .slice(Math.max(from, 4), to)
        .filter((t) => t !== '<|im_end|>')
        .join('');
      return { ...(reasoning === '' ? {} : { reasoning }), ...(content === '' ? {} : { content }) };
    };
    for (let stop = 0; stop < toks.length; stop++) {
      const seen = new Set<string>();
      for (const sizes of [toks.map(() => 1), [3, 4], [toks.length], [2, 3, 2]]) {
        const chunks = chatChunks(sizes, toks).map((c, i) => {
          if (i === 0) return c;
          const ch = (c as { choices: { delta: unknown }[] }).choices[0]!;
          let at = 0;
          for (let k = 0; k < i - 1; k++) at += sizes[k]!;
          return { choices: [{ ...ch, delta: split(at, at + sizes[i - 1]!) }] };
        });
        const d = new TraceDecoder({ kind: 'chat', k: 1, thinking: true, sink: (i) => i === stop });
        for (const c of chunks) if (d.feed(c) === 'stop') break;
        seen.add(JSON.stringify(d.splitter.finish(true)));
      }
      expect({ stop, outcomes: [...seen] }).toEqual({ stop, outcomes: [seen.values().next().value] });
    }
  });

  test('text that does not line up with its tokens (held back) is taken whole, as it arrived', () => {
    // The second chunk carries the held-back text of the first: no per-token split is possible.
    const chunks = chatChunks([2, 2], tokens, (from, to) => (from === 0 ? '' : tokens.slice(0, to).join('')));
    const { text } = run('chat', chunks, 2);
    expect(text).toBe("I can't help");
  });
});
