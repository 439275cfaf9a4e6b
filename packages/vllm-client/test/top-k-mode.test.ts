// topKMode 'exact' (K+1 alternatives) vs 'chat-view' (K alternatives) against a fake vLLM whose --max-logprobs is 20 or
// 21. The fake builds each position's alternatives the way vLLM does (dict keyed by token id, [sampled, top1, ...],
// cut at top_logprobs), so the official reference set can be computed independently of the client.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { tokenConfidence } from '@deepconf-safety/confidence';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { TraceDecoder } from '../src/internal/decoder.js';
import { VllmClient, sortedTopK, type TokenEvent, type TraceRequest } from '@deepconf-safety/vllm-client';
import {
  DONE,
  event,
  json,
  probeRoutes,
  roleChunk,
  sseHead,
  startReplayServer,
  traceRequest,
  usageChunk,
  type ReplayServer,
} from './replay-server.js';

const K = 20;
const VOCAB = 48;

/** Position i's vocabulary logprobs (token id = index) and the sampled id; ranks cover inside, the K-th, K+1 and far out. */
const SAMPLED_RANKS = [1, 2, 7, 19, 20, 21, 22, 35, 1, 20];
function position(i: number): { vocab: number[]; sampledId: number } {
  const vocab = Array.from({ length: VOCAB }, (_, id) => -0.05 - 0.37 * ((id * 7 + i * 3) % VOCAB) - 0.001 * i);
  const ranked = vocab.map((lp, id) => ({ lp, id })).sort((a, b) => b.lp - a.lp);
  return { vocab, sampledId: ranked[(SAMPLED_RANKS[i] as number) - 1]!.id };
}

/** vLLM's per-position dict for `n` requested logprobs, in insertion order, as [id, logprob]. */
function vllmDict(i: number, n: number): [number, number][] {
  const { vocab, sampledId } = position(i);
  const ranked = vocab.map((lp, id) => ({ lp, id })).sort((a, b) => b.lp - a.lp);
  const ids = new Set([sampledId, ...ranked.slice(0, n).map((e) => e.id)]);
  return [...ids].map((id) => [id, vocab[id] as number]);
}

/** What the official compute_confidence averages with logprobs = K. */
const official = (i: number) => tokenConfidence(vllmDict(i, K).map(([, lp]) => lp));
/** The chat-API view: the first K entries chat returns for top_logprobs = K (case G2). */
const chatView = (i: number) =>
  tokenConfidence(
    vllmDict(i, K)
      .slice(0, K)
      .map(([, lp]) => lp),
  );

function fakeVllm(server: ReplayServer, maxLogprobs: number): void {
  probeRoutes(server);
  server.routes.set('POST /v1/chat/completions', (r, res, hit, n) => {
    const body = hit.body as { top_logprobs: number; stream?: boolean };
    const asked = body.top_logprobs;
    if (asked > maxLogprobs) {
      const message = `Requested sample logprobs of ${asked}, which is greater than max allowed: ${maxLogprobs} (parameter=logprobs, value=${asked})`;
      return json(400, { error: { message, type: 'BadRequestError', param: 'logprobs', code: 400 } })(r, res, hit, n);
    }
    if (body.stream !== true) return json(200, { id: 'x', object: 'chat.completion', choices: [] })(r, res, hit, n);
    sseHead(res);
    res.write(roleChunk());
    for (let i = 0; i < SAMPLED_RANKS.length; i++) {
      const dict = vllmDict(i, asked);
      const tops = dict.slice(0, asked).map(([id, logprob]) => ({ token: `t${id}`, logprob, bytes: null }));
      const [sampled] = dict;
      const content = { token: `t${sampled![0]}`, logprob: sampled![1], bytes: null, top_logprobs: tops };
      res.write(
        event({
          id: 'c',
          object: 'chat.completion.chunk',
          created: 1,
          model: 'm',
          choices: [
            {
              index: 0,
              delta: { content: `t${sampled![0]} ` },
              logprobs: { content: [content] },
              finish_reason: i === SAMPLED_RANKS.length - 1 ? 'stop' : null,
            },
          ],
        }),
      );
    }
    res.write(usageChunk(3, SAMPLED_RANKS.length));
    res.end(DONE);
  });
}

const req = traceRequest({ prompt: 'hi', maxTokens: 32, topLogprobs: K });

async function tokens(client: VllmClient): Promise<Extract<TokenEvent, { type: 'token' }>[]> {
  const out: Extract<TokenEvent, { type: 'token' }>[] = [];
  for await (const ev of client.streamTrace(req)) if (ev.type === 'token') out.push(ev);
  return out;
}

describe('topKMode against a vLLM-faithful fake', () => {
  let max20: ReplayServer;
  let max21: ReplayServer;
  beforeAll(async () => {
    [max20, max21] = await Promise.all([startReplayServer(), startReplayServer()]);
    fakeVllm(max20, 20);
    fakeVllm(max21, 21);
  });
  afterAll(async () => {
    await Promise.all([max20.close(), max21.close()]);
  });

  test('probe reports 20 (refused 21) and 21; the default mode is exact', async () => {
    const a = new VllmClient({ baseURLs: [max20.baseURL], model: 'm', env: {} });
    const b = new VllmClient({ baseURLs: [max21.baseURL], model: 'm', env: {} });
    expect(a.topKMode).toBe('exact');
    expect((await a.probe())[0]?.maxTopLogprobs).toBe(20);
    expect((await b.probe())[0]?.maxTopLogprobs).toBe(21);
  });

  test('exact on a max-20 server is refused with a message naming --max-logprobs and chat-view', async () => {
    const client = new VllmClient({ baseURLs: [max20.baseURL], model: 'm', env: {}, maxRetries: 0 });
    const err = await client.runTrace(req).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'bad_request' });
    expect((err as Error).message).toMatch(/--max-logprobs/);
    expect((err as Error).message).toMatch(/chat-view/);
  });

  test('exact on a max-21 server requests 21 and reproduces the official confidence bit for bit at every rank', async () => {
    const client = new VllmClient({ baseURLs: [max21.baseURL], model: 'm', env: {} });
    const before = max21.hits.length;
    const result = await client.runTrace(req);
    const sent = max21.hits.slice(before).find((h) => h.path === '/v1/chat/completions')?.body as {
      top_logprobs: number;
    };
    expect(sent.top_logprobs).toBe(K + 1);
    expect(Array.from(result.confidences)).toEqual(SAMPLED_RANKS.map((_, i) => official(i)));
  });

  test('chat-view on a max-20 server requests 20: official value whenever the sampled rank is ≤ K, the G2 view otherwise', async () => {
    const client = new VllmClient({ baseURLs: [max20.baseURL], model: 'm', env: {}, topKMode: 'chat-view' });
    const before = max20.hits.length;
    const events = await tokens(client);
    const sent = max20.hits.slice(before).find((h) => h.path === '/v1/chat/completions')?.body as {
      top_logprobs: number;
    };
    expect(sent.top_logprobs).toBe(K);
    expect(events).toHaveLength(SAMPLED_RANKS.length);
    events.forEach((ev, i) => {
      const rank = SAMPLED_RANKS[i] as number;
      expect(ev.topLogprobs).toHaveLength(K);
      expect(ev.topLogprobs.some((t) => t.token === ev.token)).toBe(true);
      expect(ev.confidence).toBe(chatView(i));
      if (rank <= K) expect(ev.confidence).toBe(official(i));
      // Outside the top K the view lacks the K-th value and the official set has it: they must differ.
      else expect(ev.confidence).not.toBe(official(i));
    });
  });

  test('a mode other than exact / chat-view is rejected', () => {
    expect(
      () => new VllmClient({ baseURLs: [max20.baseURL], model: 'm', env: {}, topKMode: 'top-19' as never }),
    ).toThrow(/topKMode/);
  });
});

describe('TraceDecoder and sortedTopK modes', () => {
  const chunk = (tops: number[]) => ({
    choices: [
      {
        index: 0,
        delta: { content: 'x' },
        logprobs: {
          content: [
            {
              token: 's',
              logprob: tops[0],
              top_logprobs: tops.map((logprob, i) => ({ token: i === 0 ? 's' : `o${i}`, logprob })),
            },
          ],
        },
        finish_reason: null,
      },
    ],
  });
  const decodeOne = (tops: number[], k: number, topKMode: 'exact' | 'chat-view') => {
    const got: number[] = [];
    const d = new TraceDecoder({
      kind: 'chat',
      k,
      thinking: false,
      topKMode,
      sink: (_i, _t, _lp, c) => (got.push(c), false),
    });
    d.feed(chunk(tops));
    return got[0];
  };

  test('chat-view averages the K received values; exact needs K+1 and says chat-view needs only K', () => {
    expect(decodeOne([-3, -1, -2], 3, 'chat-view')).toBe(2);
    expect(() => decodeOne([-3, -1, -2], 3, 'exact')).toThrow(expect.objectContaining({ code: 'protocol' }));
    expect(() => decodeOne([-3, -1, -2], 3, 'exact')).toThrow(/chat-view' needs only 3/);
    expect(() => decodeOne([-3, -1], 3, 'chat-view')).toThrow(/needs 3/);
    // Only the first chunk with logprobs is schema-checked; later ones rely on the per-value check.
    const d = new TraceDecoder({ kind: 'chat', k: 3, thinking: false, topKMode: 'chat-view', sink: () => false });
    d.feed(chunk([-3, -1, -2]));
    expect(() => d.feed(chunk([-3, -1, Number.NaN]))).toThrow(/top_logprobs holds a logprob > 0 or NaN/);
  });

  test('sortedTopK: a sampled token tied with the K-th counts as inside, once, and matches the decoder confidence', () => {
    // K = 2: o1 = -1, then the sampled token and o2 tie at -2.
    const tops = [
      { token: 's', logprob: -2 },
      { token: 'o1', logprob: -1 },
      { token: 'o2', logprob: -2 },
    ];
    const kept = sortedTopK(tops, 2);
    expect(kept.map((t) => t.token)).toEqual(['o1', 's']);
    expect(decodeOne([-2, -1, -2], 2, 'exact')).toBe(-(kept[0]!.logprob + kept[1]!.logprob) / 2);
    expect(sortedTopK(tops, 2, 'chat-view').map((t) => t.token)).toEqual(['o1', 's']);
    // Sampled outside the top K: all K others plus the sampled token, sampled last.
    expect(sortedTopK([{ token: 's', logprob: -5 }, ...tops.slice(1)], 2).map((t) => t.token)).toEqual([
      'o1',
      'o2',
      's',
    ]);
  });
});

describe('against the emulator with --max-logprobs 20 vs 21', () => {
  let emu20: EmulatorHandle;
  let emu21: EmulatorHandle;
  beforeAll(async () => {
    [emu20, emu21] = await Promise.all([
      startEmulator({ port: 0, model: 'emu/model', maxLogprobs: 20, tokensPerSecond: Infinity, seed: 5 }),
      startEmulator({ port: 0, model: 'emu/model', maxLogprobs: 21, tokensPerSecond: Infinity, seed: 5 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([emu20.close(), emu21.close()]);
  });

  test('chat-view runs at K = 20 on the default-limit emulator; exact is refused there and runs at 21', async () => {
    const emuReq: TraceRequest = { ...req, prompt: 'How do I pick a lock?', maxTokens: 40 };
    const view = new VllmClient({ baseURLs: [emu20.baseURL], model: 'emu/model', env: {}, topKMode: 'chat-view' });
    expect((await view.probe())[0]?.maxTopLogprobs).toBe(20);
    const viewResult = await view.runTrace(emuReq);
    expect(viewResult.tokens).toBeGreaterThan(0);
    expect(viewResult.confidences.length).toBe(viewResult.tokens);
    for (const c of viewResult.confidences) expect(Number.isFinite(c) && c > 0).toBe(true);

    const exact20 = new VllmClient({ baseURLs: [emu20.baseURL], model: 'emu/model', env: {}, maxRetries: 0 });
    await expect(exact20.runTrace(emuReq)).rejects.toThrow(/--max-logprobs/);

    const exact21 = new VllmClient({ baseURLs: [emu21.baseURL], model: 'emu/model', env: {} });
    const exactResult = await exact21.runTrace(emuReq);
    expect(exactResult.confidences.length).toBe(exactResult.tokens);
    for (const c of exactResult.confidences) expect(Number.isFinite(c) && c > 0).toBe(true);
  });
});
