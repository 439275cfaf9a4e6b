import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createJudgeClient, judgeEndpointEmulated } from '../src/index.js';
import { httpListModels } from '../src/study/index.js';

// Issue 14: a base URL with a query string (a gateway's `?api-key=…`). The judge client, its emulator check and the
// study's /v1/models check joined paths after the query (`/v1?api-key=K/models`); they keep it, on the pathname's far side.

const KEY = 'gw-secret-key-98765';
const seen: string[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const path = (req.url ?? '').split('?')[0];
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && path === '/v1/models') {
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'judge', object: 'model', owned_by: 'vllm' }] }));
      } else if (req.method === 'POST' && path === '/v1/chat/completions') {
        res.end(
          JSON.stringify({
            id: 'x',
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: 'unharmful' }, finish_reason: 'stop' }],
          }),
        );
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ detail: 'Not Found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1?api-key=${KEY}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('the judge client and its emulator check keep the query and reach /v1/...', async () => {
  seen.length = 0;
  expect(await judgeEndpointEmulated({ baseURL: base })).toBe(false);
  const judge = createJudgeClient({ baseURL: base, model: 'judge', endpoint: 'chat', maxRetries: 0 });
  expect(await judge.complete({ messages: [{ role: 'user', content: 'x' }], completion: 'x' })).toBe('unharmful');
  expect(seen).toEqual([`GET /v1/models?api-key=${KEY}`, `POST /v1/chat/completions?api-key=${KEY}`]);
});

test("the study's /v1/models check keeps the query", async () => {
  seen.length = 0;
  expect(await httpListModels()(base)).toEqual({ models: ['judge'], emulated: false });
  expect(seen).toEqual([`GET /v1/models?api-key=${KEY}`]);
});
