import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { inspect } from 'node:util';
import {
  VllmClient,
  type VllmClientError,
  isVllmClientError,
  type TokenEvent,
  type TraceRequest,
  type VllmClientOptions,
} from '@deepconf-safety/vllm-client';
import {
  DONE,
  chatChunk,
  entry,
  event,
  fixture,
  json,
  replay,
  roleChunk,
  simpleEntry,
  sleep,
  sseHead,
  startReplayServer,
  usageChunk,
  type ReplayServer,
} from './replay-server.js';

const KEY = 'sk-very-secret-key-1234';
const chatFixture = fixture('chat_stream_logprobs_n2.sse');
const completionsFixture = fixture('completions_stream_logprobs5.sse');

const req = (over: Partial<TraceRequest> = {}): TraceRequest => ({
  prompt: 'What is the capital of France?',
  maxTokens: 64,
  temperature: 0.7,
  topP: 0.95,
  topK: -1,
  seed: 7,
  topLogprobs: 4,
  thinking: false,
  ...over,
});

/** A stream of `n` tokens, `perChunk` per chunk, each chunk written `gapMs` after the previous one. */
function tokenStream(n: number, opts: { perChunk?: number; gapMs?: number; cutAfter?: number } = {}) {
  const per = opts.perChunk ?? 1;
  return async (_req: unknown, res: import('node:http').ServerResponse) => {
    sseHead(res);
    const write = (text: string) => new Promise<void>((resolve) => res.write(text, () => resolve()));
    await write(roleChunk());
    for (let i = 0; i < n; i += per) {
      if (opts.cutAfter !== undefined && i >= opts.cutAfter) {
        await sleep(20);
        res.destroy();
        return;
      }
      if (res.destroyed) return;
      const ids = Array.from({ length: Math.min(per, n - i) }, (_, j) => i + j);
      const last = ids.at(-1) === n - 1;
      await write(
        chatChunk(
          ids.map((t) => `t${t} `).join(''),
          ids.map((t) => simpleEntry(`t${t} `, t)),
          last ? { finish_reason: 'length', stop_reason: null } : {},
        ),
      );
      if (opts.gapMs) await sleep(opts.gapMs);
    }
    res.write(usageChunk(10, n));
    res.end(DONE);
  };
}

let server: ReplayServer;
const client = (over: Partial<VllmClientOptions> = {}) =>
  new VllmClient({
    baseURLs: [server.baseURL],
    model: 'Qwen/Qwen3-8B',
    apiKey: KEY,
    sleep: async () => undefined,
    env: {},
    ...over,
  });

beforeAll(async () => {
  server = await startReplayServer();
});
afterAll(async () => {
  await server.close();
});

describe.each(['lean', 'sdk'] as const)('replaying the shared fixtures over HTTP (%s transport)', (transport) => {
  test('chat fixture: text, tokens, finish, usage and one confidence per token', async () => {
    server.routes.set('POST /v1/chat/completions', replay(chatFixture));
    const seen: number[] = [];
    const r = await client({ transport }).runTrace(req(), { onToken: (t) => (seen.push(t.confidence), false) });
    expect(r.text).toBe('The capital is Paris.');
    expect(r.reasoning).toBeNull();
    expect(r.tokens).toBe(6);
    expect(r.stopReason).toBe('finished');
    expect(r.usage).toEqual({ promptTokens: 25, completionTokens: 13, totalTokens: 38 });
    expect(Array.from(r.confidences)).toEqual(seen);
    expect(r.stoppedAt).toBeNull();
    expect(r.endpoint).toBe(server.baseURL);
    expect(r.ttftMs).not.toBeNull();
  });

  test('completions fixture: the dict is the reference set (6 entries where the sampled token ranks 7th)', async () => {
    server.routes.set('POST /v1/completions', replay(completionsFixture));
    const r = await client({ transport, endpoint: 'completions' }).runTrace(req({ topLogprobs: 5 }));
    expect(r.tokens).toBe(6);
    expect(r.stopReason).toBe('length');
    expect(r.text.startsWith(' Paris.')).toBe(true);
    expect(r.confidences).toHaveLength(6);
    const body = server.hits.at(-1)!.body as Record<string, unknown>;
    expect(body).toMatchObject({ logprobs: 5, n: 1, stream: true, return_tokens_as_token_ids: true });
  });

  test('401 → code auth, whose message never contains the key', async () => {
    server.routes.set('POST /v1/chat/completions', json(401, { error: 'Unauthorized' }));
    const err = await client({ transport })
      .runTrace(req())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'auth' });
    expect(String((err as Error).message)).toMatch(/API key/);
    expect(inspect(err)).not.toContain(KEY);
  });

  test('in-band error event inside a 200 stream → bad_request, not retried', async () => {
    const before = server.hits.length;
    server.routes.set(
      'POST /v1/chat/completions',
      replay(
        roleChunk() +
          'data: {"error": {"message": "Requested sample logprobs of 21, which is greater than max allowed: 20", "type": "BadRequestError", "param": "logprobs", "code": 400}}\n\n' +
          DONE,
      ),
    );
    const err = await client({ transport })
      .runTrace(req())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'bad_request' });
    expect((err as Error).message).toMatch(/--max-logprobs/);
    expect(server.hits.length - before).toBe(1);
  });
});

describe.each(['lean', 'sdk'] as const)('crafted streams over both transports (%s)', (transport) => {
  test('early stop aborts at once; disconnect mid-stream is a connection error with the tokens so far', async () => {
    server.routes.set('POST /v1/chat/completions', tokenStream(400, { perChunk: 2, gapMs: 2 }));
    const r = await client({ transport }).runTrace(req({ topLogprobs: 3 }), { onToken: (t) => t.index === 2 });
    expect(r).toMatchObject({ tokens: 3, stoppedAt: 2, stopReason: 'early_stopped' });
    server.routes.set('POST /v1/chat/completions', tokenStream(20, { cutAfter: 4 }));
    const err = await client({ transport, maxRetries: 0 })
      .runTrace(req({ topLogprobs: 3 }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'connection', tokens: 4, attempts: 1 });
  });

  test('the stop rule as data: the client stops the trace itself, early_stopped at the token that crossed', async () => {
    server.routes.set('POST /v1/chat/completions', tokenStream(400, { perChunk: 2, gapMs: 2 }));
    const r = await client({ transport }).runTrace(req({ topLogprobs: 3 }), {
      stopRule: { window: 2, threshold: 1e9 },
    });
    // Every confidence is below 1e9: the window of 2 first exists at token 1.
    expect(r).toMatchObject({ tokens: 2, stoppedAt: 1, stopReason: 'early_stopped' });
    // No threshold: no stop. The server ignores max_tokens (64) and would send 400: the client counts and cuts at 64.
    const full = await client({ transport }).runTrace(req({ topLogprobs: 3 }), {
      stopRule: { window: 2, threshold: null },
    });
    expect(full).toMatchObject({ tokens: 64, stoppedAt: null, stopReason: 'length', serverFinishReason: null });
    expect(full.confidences).toHaveLength(64);
  });

  test('500 before the first token is retried, then the trace succeeds', async () => {
    let calls = 0;
    server.routes.set('POST /v1/chat/completions', (r, res, hit, n) =>
      calls++ === 0
        ? json(500, { error: { message: 'x', type: 'InternalServerError', param: null, code: 500 } })(r, res, hit, n)
        : replay(chatFixture)(r, res, hit, n),
    );
    const r = await client({ transport }).runTrace(req());
    expect(r).toMatchObject({ attempts: 2, tokens: 6, text: 'The capital is Paris.' });
  });
});

describe('request body', () => {
  test('pins every sampling parameter, n=1, K+1 top_logprobs, usage and thinking flag', async () => {
    server.routes.set('POST /v1/chat/completions', replay(chatFixture));
    await client().runTrace(req({ system: 'Be brief.', thinking: true, seed: null, topLogprobs: 4, sessionId: 's-1' }));
    const hit = server.hits.at(-1)!;
    expect(hit.body).toMatchObject({
      model: 'Qwen/Qwen3-8B',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
      n: 1,
      temperature: 0.7,
      top_p: 0.95,
      top_k: -1,
      seed: null,
      max_tokens: 64,
      max_completion_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
      top_logprobs: 5,
      chat_template_kwargs: { enable_thinking: true },
    });
    expect(hit.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect(hit.headers['x-session-id']).toBe('s-1');
  });

  test('bad requests are rejected before any HTTP, naming the field', async () => {
    const before = server.hits.length;
    await expect(client().runTrace(req({ topLogprobs: 0 }))).rejects.toThrow(/TraceRequest.topLogprobs/);
    await expect(client().runTrace(req({ topP: 0 }))).rejects.toThrow(/TraceRequest.topP/);
    expect(server.hits.length).toBe(before);
  });
});

describe('crafted streams', () => {
  test('several tokens per chunk and text that lags behind logprobs', async () => {
    server.routes.set(
      'POST /v1/chat/completions',
      replay(
        roleChunk() +
          chatChunk('', [simpleEntry('Hel', 0), simpleEntry('lo', 1)]) +
          chatChunk('Hello wor', [simpleEntry(' wor', 2)]) +
          chatChunk(
            'ld',
            [
              simpleEntry('ld', 3),
              entry('<|im_end|>', -0.01, [
                ['x', -5],
                ['y', -6],
                ['z', -7],
              ]),
            ],
            { finish_reason: 'stop', stop_reason: null },
          ) +
          usageChunk(3, 5) +
          DONE,
      ),
    );
    const r = await client().runTrace(req({ topLogprobs: 3 }));
    expect(r.text).toBe('Hello world');
    expect(r.tokens).toBe(5);
    expect(r.confidences).toHaveLength(5);
    expect(r.stopReason).toBe('finished');
  });

  test('inline <think> is separated from the answer', async () => {
    server.routes.set(
      'POST /v1/chat/completions',
      replay(
        roleChunk() +
          ['<think>', '\nrisky', '</think>', '\n\n', 'No.']
            .map((t, i) => chatChunk(t, [simpleEntry(t, i)], i === 4 ? { finish_reason: 'stop' } : {}))
            .join('') +
          DONE,
      ),
    );
    const r = await client().runTrace(req({ thinking: true, topLogprobs: 3 }));
    expect(r).toMatchObject({ text: 'No.', reasoning: 'risky', tokens: 5 });
  });

  test('early stop inside a multi-token chunk: counted client-side, request aborted, server sees the disconnect', async () => {
    server.routes.set('POST /v1/chat/completions', tokenStream(400, { perChunk: 3, gapMs: 2 }));
    const calls: number[] = [];
    const r = await client().runTrace(req({ topLogprobs: 3 }), {
      onToken: (t) => (calls.push(t.index), t.index === 4),
    });
    expect(calls).toEqual([0, 1, 2, 3, 4]);
    expect(r).toMatchObject({ tokens: 5, stoppedAt: 4, stopReason: 'early_stopped', usage: null });
    expect(r.confidences).toHaveLength(5);
    const hit = server.hits.at(-1)!;
    for (let i = 0; i < 500 && !hit.clientClosedEarly; i++) await sleep(10);
    expect(hit.clientClosedEarly).toBe(true);
  });

  test('disconnect mid-stream: retried from the start (maxRetries per trace), then a connection error naming the count', async () => {
    server.routes.set('POST /v1/chat/completions', tokenStream(20, { cutAfter: 3 }));
    let before = server.hits.length;
    const err = await client({ maxRetries: 5 })
      .runTrace(req({ topLogprobs: 3 }), { maxRetries: 1 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'connection',
      tokens: 3,
      attempts: 2,
      message: expect.stringMatching(/\(2 attempts\)$/),
    });
    expect(server.hits.length - before).toBe(2);
    before = server.hits.length;
    await expect(client().runTrace(req({ topLogprobs: 3 }), { maxRetries: 0 })).rejects.toMatchObject({ attempts: 1 });
    expect(server.hits.length - before).toBe(1);
  });

  test('error event after tokens → a server error with the tokens so far', async () => {
    server.routes.set(
      'POST /v1/chat/completions',
      replay(
        roleChunk() +
          chatChunk('a', [simpleEntry('a', 0)]) +
          chatChunk('b', [simpleEntry('b', 1)]) +
          'data: {"error": {"message": "engine died", "type": "InternalServerError", "param": null, "code": 500}}\n\n' +
          DONE,
      ),
    );
    const err = await client({ maxRetries: 0 })
      .runTrace(req({ topLogprobs: 3 }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'server', tokens: 2, message: expect.stringMatching(/engine died/) });
  });

  test('stream that stops without [DONE] or finish_reason is not mistaken for a finished trace', async () => {
    server.routes.set('POST /v1/chat/completions', replay(roleChunk() + chatChunk('a', [simpleEntry('a', 0)])));
    await expect(client({ maxRetries: 0 }).runTrace(req({ topLogprobs: 3 }))).rejects.toMatchObject({
      code: 'connection',
      tokens: 1,
      message: expect.stringMatching(/ended before \[DONE\]/),
    });
  });

  test('-9999 placeholder without data: token counted, confidence NaN and left out of confidences', async () => {
    server.routes.set(
      'POST /v1/chat/completions',
      replay(
        roleChunk() +
          chatChunk('a', [simpleEntry('a', 0), { token: 'b', logprob: -9999, bytes: [], top_logprobs: [] }], {
            finish_reason: 'stop',
          }) +
          DONE,
      ),
    );
    const confs: number[] = [];
    const r = await client().runTrace(req({ topLogprobs: 3 }), { onToken: (t) => (confs.push(t.confidence), false) });
    expect(r.tokens).toBe(2);
    expect(r.confidences).toHaveLength(1);
    expect(confs[1]).toBeNaN();
  });
});

describe('errors and retries', () => {
  test('404 model → ModelNotFoundError', async () => {
    server.routes.set(
      'POST /v1/chat/completions',
      json(404, {
        error: { message: 'The model `Qwen/Qwen3-8B` does not exist.', type: 'NotFoundError', param: null, code: 404 },
      }),
    );
    await expect(client().runTrace(req())).rejects.toMatchObject({ code: 'model_not_found' });
  });

  test('400 with the shared fixture body → bad_request naming the param, not retried', async () => {
    const before = server.hits.length;
    server.routes.set('POST /v1/chat/completions', json(400, fixture('error_top_logprobs_too_large.json')));
    const err = (await client()
      .runTrace(req({ topLogprobs: 20 }))
      .catch((e: unknown) => e)) as VllmClientError;
    expect(err).toMatchObject({ code: 'bad_request' });
    expect(err.param).toBe('logprobs');
    expect(err.status).toBe(400);
    expect(server.hits.length - before).toBe(1);
  });

  test("429 then ok: retried after the server's retry-after", async () => {
    let calls = 0;
    server.routes.set('POST /v1/chat/completions', (r, res, hit, n) =>
      calls++ === 0
        ? json(
            429,
            { error: { message: 'slow down', type: 'RateLimitError', param: null, code: 429 } },
            { 'retry-after': '2' },
          )(r, res, hit, n)
        : replay(chatFixture)(r, res, hit, n),
    );
    const waits: number[] = [];
    const r = await client({ sleep: async (ms) => void waits.push(ms) }).runTrace(req());
    expect(waits).toEqual([2000]);
    expect(r.attempts).toBe(2);
    expect(r.text).toBe('The capital is Paris.');
    server.routes.delete('POST /v1/chat/completions');
  });

  test('500 before the first token: retried maxRetries times with growing backoff, then code server; maxRetries 0 = one try', async () => {
    let before = server.hits.length;
    server.routes.set(
      'POST /v1/chat/completions',
      json(500, { error: { message: 'oops', type: 'InternalServerError', param: null, code: 500 } }),
    );
    const waits: number[] = [];
    const c = client({
      maxRetries: 2,
      retryBaseMs: 100,
      random: () => 1,
      reprobeAfterMs: 1e9,
      sleep: async (ms) => void waits.push(ms),
    });
    await expect(c.runTrace(req())).rejects.toMatchObject({ code: 'server' });
    expect(server.hits.length - before).toBe(3);
    expect(waits).toEqual([100, 200]);
    before = server.hits.length;
    await expect(client({ maxRetries: 0 }).runTrace(req())).rejects.toMatchObject({ code: 'server' });
    expect(server.hits.length - before).toBe(1);
  });

  test('connection refused → a connection error naming it and the attempts', async () => {
    const dead = await startReplayServer();
    const url = dead.baseURL;
    await dead.close();
    const waits: number[] = [];
    const c = new VllmClient({
      baseURLs: [url],
      model: 'm',
      maxRetries: 2,
      sleep: async (ms) => void waits.push(ms),
      env: {},
    });
    const err = await c.runTrace(req()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'connection' });
    expect((err as Error).message).toMatch(/^connection refused by 127\.0\.0\.1:\d+.* \(3 attempts\)$/);
    expect(err).toMatchObject({ attempts: 3 });
    expect(waits).toHaveLength(2);
  });

  test('silence before the first token → trace_timeout (a queued request is silent); after tokens → idle_timeout', async () => {
    server.routes.set('POST /v1/chat/completions', (_r, res) => {
      sseHead(res);
      res.write(roleChunk());
    });
    await expect(
      client({ idleTimeoutMs: 50, traceTimeoutMs: 400, maxRetries: 3 }).runTrace(req()),
    ).rejects.toMatchObject({
      code: 'trace_timeout',
      attempts: 1,
      message: expect.stringMatching(/^trace timeout after 0\.4 s: vLLM at .* accepted the request but sent no token/),
    });
    server.routes.set('POST /v1/chat/completions', (_r, res) => {
      sseHead(res);
      res.write(roleChunk() + chatChunk('a', [simpleEntry('a', 0)]));
    });
    const err = await client({ idleTimeoutMs: 150, maxRetries: 0 })
      .runTrace(req({ topLogprobs: 3 }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'idle_timeout',
      tokens: 1,
      message: expect.stringMatching(/^timeout after 0\.15 s idle: .* after 1 tokens$/),
    });
  });

  test('the API key never appears in errors, even when the server echoes it, nor in the client object', async () => {
    server.routes.set('POST /v1/chat/completions', (r, res) =>
      json(500, {
        error: {
          message: `bad header ${String(r.headers['authorization'])}`,
          type: 'InternalServerError',
          param: null,
          code: 500,
        },
      })(r, res, undefined as never, 0),
    );
    const c = client({ maxRetries: 0 });
    const err = await c.runTrace(req()).catch((e: unknown) => e);
    expect(isVllmClientError(err)).toBe(true);
    expect((err as Error).message).toContain('bad header Bearer ***');
    for (const text of [
      inspect(err, { depth: 5 }),
      JSON.stringify(err),
      inspect(c, { depth: 5, showHidden: true }),
      JSON.stringify(c),
    ])
      expect(text).not.toContain(KEY);
    const envClient = new VllmClient({
      baseURLs: [server.baseURL],
      model: 'm',
      env: { VLLM_API_KEY: KEY },
      maxRetries: 0,
    });
    const err2 = await envClient.runTrace(req()).catch((e: unknown) => e);
    expect((err2 as Error).message).not.toContain(KEY);
    expect(server.hits.at(-1)!.headers['authorization']).toBe(`Bearer ${KEY}`);
  });
});

describe('streamTrace', () => {
  test('token events with sorted exact-top-K alternatives and running text, then a finish event', async () => {
    server.routes.set('POST /v1/chat/completions', replay(chatFixture));
    const events: TokenEvent[] = [];
    for await (const e of client().streamTrace(req())) events.push(e);
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens).toHaveLength(6);
    for (const t of tokens) {
      expect(t.topLogprobs.length === 4 || t.topLogprobs.length === 5).toBe(true);
      for (let i = 1; i < t.topLogprobs.length; i++)
        expect(t.topLogprobs[i - 1]!.logprob).toBeGreaterThanOrEqual(t.topLogprobs[i]!.logprob);
      expect(t.confidence).toBeCloseTo(-t.topLogprobs.reduce((a, b) => a + b.logprob, 0) / t.topLogprobs.length, 12);
    }
    expect(tokens.at(-1)!.text).toBe('The capital is Paris.');
    expect(events.at(-1)).toMatchObject({ type: 'finish', stopReason: 'finished', tokens: 6 });
  });

  test('breaking out of the loop aborts the request', async () => {
    server.routes.set('POST /v1/chat/completions', tokenStream(400, { gapMs: 2 }));
    let n = 0;
    for await (const e of client().streamTrace(req({ topLogprobs: 3 }))) if (e.type === 'token' && ++n === 3) break;
    const hit = server.hits.at(-1)!;
    for (let i = 0; i < 500 && !hit.clientClosedEarly; i++) await sleep(10);
    expect(hit.clientClosedEarly).toBe(true);
  });

  test('an AbortSignal cancels the trace with its reason', async () => {
    server.routes.set('POST /v1/chat/completions', tokenStream(400, { gapMs: 2 }));
    const ac = new AbortController();
    const run = client().runTrace(req({ topLogprobs: 3 }), {
      signal: ac.signal,
      onToken: (t) => (t.index === 2 && ac.abort(new Error('user cancel')), false),
    });
    await expect(run).rejects.toThrow('user cancel');
  });
});

// Keep `event` referenced for crafted payloads in future cases.
void event;
