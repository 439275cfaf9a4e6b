import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { VllmClient } from '@deepconf-safety/vllm-client';
import {
  DONE,
  chatChunk,
  fixture,
  json,
  probeRoutes,
  roleChunk,
  simpleEntry,
  sleep,
  sseHead,
  startReplayServer,
  traceRequest,
  type Handler,
  type ReplayServer,
} from './replay-server.js';

const req = traceRequest();

/** Streams a few tokens, holding the request open until `release` resolves, so requests overlap. */
function held(release: Promise<void>): Handler {
  return async (_r, res) => {
    sseHead(res);
    res.write(roleChunk() + chatChunk('a', [simpleEntry('a', 0)]));
    await release;
    res.end(chatChunk('b', [simpleEntry('b', 1)], { finish_reason: 'stop' }) + DONE);
  };
}

function vllmLike(server: ReplayServer, opts: { models?: string[]; maxLogprobs?: number; key?: string } = {}): void {
  const auth =
    (h: Handler): Handler =>
    (r, res, hit, n) =>
      opts.key !== undefined && r.headers['authorization'] !== `Bearer ${opts.key}`
        ? json(401, { error: 'Unauthorized' })(r, res, hit, n)
        : h(r, res, hit, n);
  probeRoutes(server, { models: opts.models ?? ['Qwen/Qwen3-8B'], maxModelLen: 40960, guard: auth });
  server.routes.set(
    'POST /v1/chat/completions',
    auth((r, res, hit, n) => {
      const body = hit.body as { top_logprobs?: number };
      const max = opts.maxLogprobs ?? 20;
      if ((body.top_logprobs ?? 0) > max) {
        const text = fixture('error_top_logprobs_too_large.json')
          .replaceAll('21', String(body.top_logprobs))
          .replaceAll('20', String(max));
        return json(400, text)(r, res, hit, n);
      }
      return json(200, { id: 'x', object: 'chat.completion', choices: [] })(r, res, hit, n);
    }),
  );
}

let a: ReplayServer;
let b: ReplayServer;
beforeAll(async () => {
  [a, b] = await Promise.all([startReplayServer(), startReplayServer()]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

describe('several endpoints', () => {
  test('each trace goes to the endpoint with the fewest requests in flight', async () => {
    let open!: () => void;
    const release = new Promise<void>((r) => (open = r));
    a.routes.set('POST /v1/chat/completions', held(release));
    b.routes.set('POST /v1/chat/completions', held(release));
    const c = new VllmClient({ baseURLs: [a.baseURL, b.baseURL], model: 'm', env: {} });
    const before = [a.hits.length, b.hits.length];
    const runs = [0, 1, 2, 3, 4, 5].map(() => c.runTrace(req));
    await sleep(30);
    expect(c.endpoints.map((e) => e.inFlight)).toEqual([3, 3]);
    open();
    const results = await Promise.all(runs);
    expect(results.filter((r) => r.endpoint === a.baseURL)).toHaveLength(3);
    expect([a.hits.length - before[0]!, b.hits.length - before[1]!]).toEqual([3, 3]);
    expect(c.endpoints.map((e) => e.inFlight)).toEqual([0, 0]);
  });

  test('a failing endpoint is taken out, its trace retried elsewhere, and it comes back after a good /health', async () => {
    a.routes.set(
      'POST /v1/chat/completions',
      json(503, { error: { message: 'engine dead', type: 'InternalServerError', param: null, code: 503 } }),
    );
    a.routes.set('GET /health', (_r, res) => void res.writeHead(503).end());
    b.routes.set('POST /v1/chat/completions', held(Promise.resolve()));
    let clock = 1000;
    const c = new VllmClient({
      baseURLs: [a.baseURL, b.baseURL],
      model: 'm',
      env: {},
      now: () => clock,
      reprobeAfterMs: 500,
      sleep: async () => undefined,
    });
    const rs = [];
    for (let i = 0; i < 4; i++) rs.push(await c.runTrace(req));
    expect(rs.every((r) => r.endpoint === b.baseURL)).toBe(true);
    expect(c.endpoints[0]!.healthy).toBe(false);
    // After the re-probe delay, /health is asked in the background; once it says 200 the endpoint is back.
    a.routes.set('GET /health', (_r, res) => void res.writeHead(200).end());
    a.routes.set('POST /v1/chat/completions', held(Promise.resolve()));
    clock += 600;
    await c.runTrace(req);
    for (let i = 0; i < 500 && !c.endpoints[0]!.healthy; i++) await sleep(5);
    expect(c.endpoints[0]!.healthy).toBe(true);
    const later = await Promise.all([c.runTrace(req), c.runTrace(req)]);
    expect(new Set(later.map((r) => r.endpoint)).size).toBe(2);
  });
});

describe('probe', () => {
  test("reports version, models, max_model_len and the exact --max-logprobs from vLLM's refusal", async () => {
    vllmLike(a, { maxLogprobs: 20, key: 'k1' });
    const c = new VllmClient({ baseURLs: [a.baseURL], model: 'Qwen/Qwen3-8B', apiKey: 'k1', env: {} });
    const [p] = await c.probe();
    expect(p).toMatchObject({
      healthy: true,
      version: '0.11.0',
      models: ['Qwen/Qwen3-8B'],
      maxTopLogprobs: 20,
      maxModelLen: 40960,
      emulated: false,
      error: null,
    });
    vllmLike(a, { maxLogprobs: 64 });
    const [q] = await new VllmClient({ baseURLs: [a.baseURL], model: 'Qwen/Qwen3-8B', env: {} }).probe();
    expect(q!.maxTopLogprobs).toBe(21); // accepted: a lower bound
  });

  test('fails fast: wrong key, model not served (listing what is), everything down', async () => {
    vllmLike(a, { key: 'right' });
    await expect(
      new VllmClient({ baseURLs: [a.baseURL], model: 'Qwen/Qwen3-8B', apiKey: 'wrong-key-987', env: {} }).probe(),
    ).rejects.toMatchObject({ code: 'auth' });
    const err = (await new VllmClient({
      baseURLs: [a.baseURL],
      model: 'Qwen/Qwen3-8B',
      apiKey: 'wrong-key-987',
      env: {},
    })
      .probe()
      .catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('wrong-key-987');
    vllmLike(a, { models: ['other/model'] });
    await expect(new VllmClient({ baseURLs: [a.baseURL], model: 'Qwen/Qwen3-8B', env: {} }).probe()).rejects.toThrow(
      /serves "other\/model"/,
    );
    await expect(
      new VllmClient({ baseURLs: [a.baseURL], model: 'Qwen/Qwen3-8B', env: {} }).probe(),
    ).rejects.toMatchObject({ code: 'model_not_found' });
    const dead = await startReplayServer();
    await dead.close();
    await expect(new VllmClient({ baseURLs: [dead.baseURL], model: 'm', env: {} }).probe()).rejects.toMatchObject({
      code: 'connection',
    });
  });

  test('waitUntilReady polls while the server is loading, and gives up at the deadline', async () => {
    vllmLike(a);
    let healthCalls = 0;
    a.routes.set('GET /health', (_r, res) => void res.writeHead(++healthCalls < 3 ? 503 : 200).end());
    let clock = 0;
    const c = new VllmClient({
      baseURLs: [a.baseURL],
      model: 'Qwen/Qwen3-8B',
      env: {},
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
    });
    const probes = await c.waitUntilReady({ intervalMs: 1000, timeoutMs: 60_000 });
    expect(probes[0]!.healthy).toBe(true);
    expect(healthCalls).toBe(3);
    a.routes.set('GET /health', (_r, res) => void res.writeHead(503).end());
    await expect(c.waitUntilReady({ intervalMs: 1000, timeoutMs: 5_000 })).rejects.toThrow(/503/);
    vllmLike(a, { key: 'x' });
    await expect(c.waitUntilReady({ intervalMs: 1000 })).rejects.toMatchObject({ code: 'auth' });
  });

  test('one endpoint down: probe succeeds, marks it unhealthy, and traces avoid it', async () => {
    vllmLike(a);
    b.routes.set('GET /health', (_r, res) => void res.writeHead(503).end());
    const c = new VllmClient({
      baseURLs: [a.baseURL, b.baseURL],
      model: 'Qwen/Qwen3-8B',
      env: {},
      reprobeAfterMs: 1e9,
    });
    const probes = await c.probe();
    expect(probes.map((p) => p.healthy)).toEqual([true, false]);
    expect(probes[1]!.error).toMatch(/503/);
    a.routes.set('POST /v1/chat/completions', held(Promise.resolve()));
    const rs = await Promise.all([c.runTrace(req), c.runTrace(req)]);
    expect(rs.map((r) => r.endpoint)).toEqual([a.baseURL, a.baseURL]);
  });
});
