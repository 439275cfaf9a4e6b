import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { VllmClient, joinUrl, sdkBase, serverRoot } from '@deepconf-safety/vllm-client';
import {
  DONE,
  chatChunk,
  json,
  probeRoutes,
  roleChunk,
  simpleEntry,
  sseHead,
  startReplayServer,
  traceRequest,
  type ReplayServer,
} from './replay-server.js';

// Issue 14 (a base URL with a query string, e.g. a gateway's `?api-key=…`): paths were joined after the query
// (`/v1?api-key=K/models`), so the probe's GET /v1/models 404ed. Every request keeps the query and puts its path on the
// pathname, on both transports, and the key never shows in what the client reports.

const KEY = 'gw-secret-key-98765';
const req = traceRequest();

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer();
  probeRoutes(server);
  server.routes.set('POST /v1/chat/completions', (_r, res, hit) => {
    if ((hit.body as { stream?: boolean }).stream !== true) return json(200, { choices: [] })(_r, res, hit, 0);
    sseHead(res);
    res.end(roleChunk() + chatChunk('a', [simpleEntry('a', 0)], { finish_reason: 'stop' }) + DONE);
  });
});
afterAll(async () => {
  await server?.close();
});

describe('URL joins keep the query', () => {
  test('joinUrl, serverRoot and sdkBase', () => {
    expect(joinUrl('https://h/v1?api-key=K', 'models')).toBe('https://h/v1/models?api-key=K');
    expect(joinUrl('https://h/v1/?a=1&b=2', '/chat/completions')).toBe('https://h/v1/chat/completions?a=1&b=2');
    expect(joinUrl('http://h:8000', 'health')).toBe('http://h:8000/health');
    expect(serverRoot('https://h/proxy/v1?api-key=K')).toBe('https://h/proxy?api-key=K');
    expect(joinUrl(serverRoot('http://h:8000/v1'), 'health')).toBe('http://h:8000/health');
    expect(sdkBase('https://h/v1/?api-key=K')).toEqual({ baseURL: 'https://h/v1', defaultQuery: { 'api-key': 'K' } });
    expect(sdkBase('http://h/v1')).toEqual({ baseURL: 'http://h/v1' });
  });
});

describe.each(['lean', 'sdk'] as const)('a base URL with a query string (%s transport)', (transport) => {
  test('probe and trace reach the right paths, each with the query; the key never shows', async () => {
    const logs: string[] = [];
    const client = new VllmClient({
      baseURLs: [`${server.baseURL}?api-key=${KEY}`],
      model: 'm',
      transport,
      env: {},
      log: (line) => logs.push(line),
    });
    const from = server.hits.length;
    const probe = await client.probe();
    expect(probe[0]).toMatchObject({ healthy: true, models: ['m'], version: '0.11.0' });
    const r = await client.runTrace(req);
    expect(r).toMatchObject({ stopReason: 'finished', tokens: 1 });
    const hits = server.hits.slice(from).map((h) => `${h.method} ${h.path}?${h.query}`);
    expect(new Set(hits)).toEqual(
      new Set([
        `GET /health?api-key=${KEY}`,
        `GET /v1/models?api-key=${KEY}`,
        `GET /version?api-key=${KEY}`,
        `POST /v1/chat/completions?api-key=${KEY}`,
      ]),
    );
    const shown = JSON.stringify({ probe, r: { ...r, confidences: [] }, logs, endpoints: client.endpoints });
    expect(shown).not.toContain(KEY);
    expect(shown).toContain('api-key=***');
  });

  test('an error names the endpoint with the key redacted', async () => {
    server.routes.set('POST /v1/completions', json(500, { error: { message: 'boom', type: 'x', code: 500 } }));
    const client = new VllmClient({
      baseURLs: [`${server.baseURL}?api-key=${KEY}`],
      model: 'm',
      transport,
      endpoint: 'completions',
      env: {},
      maxRetries: 0,
    });
    const err = (await client.runTrace(req).catch((e: unknown) => e)) as Error & { endpoint: string };
    expect(err).toMatchObject({ code: 'server' });
    expect(server.hits.at(-1)).toMatchObject({ path: '/v1/completions', query: `api-key=${KEY}` });
    expect(`${err.message} ${err.endpoint}`).not.toContain(KEY);
  });
});
