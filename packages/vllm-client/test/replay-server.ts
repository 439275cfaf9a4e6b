// A tiny programmable HTTP server for integration tests: replays fixture bytes and crafted streams on 127.0.0.1:0.
// Deliberately independent of packages/emulator, so a bug shared by both cannot hide itself.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TraceRequest } from '@deepconf-safety/vllm-client';

export const FIXTURES = fileURLToPath(new URL('../../../test-fixtures/vllm/', import.meta.url));
export const fixture = (name: string): string => readFileSync(FIXTURES + name, 'utf8');

export type Hit = {
  method: string;
  path: string;
  /** The query string as received, without its '?' ('' when none). */
  query: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  clientClosedEarly: boolean;
};
export type Handler = (req: IncomingMessage, res: ServerResponse, hit: Hit, n: number) => void | Promise<void>;

export type ReplayServer = {
  baseURL: string;
  hits: Hit[];
  /** Route handlers keyed by "METHOD /path"; replace at will between tests. */
  routes: Map<string, Handler>;
  close(): Promise<void>;
};

export async function startReplayServer(routes: Record<string, Handler> = {}): Promise<ReplayServer> {
  const table = new Map(Object.entries(routes));
  const hits: Hit[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
      const key = `${req.method} ${path}`;
      let body: unknown = raw;
      try {
        body = raw === '' ? null : JSON.parse(raw);
      } catch {
        // keep the raw text
      }
      const hit: Hit = { method: req.method ?? '', path, query, headers: req.headers, body, clientClosedEarly: false };
      hits.push(hit);
      res.on('close', () => {
        if (!res.writableFinished) hit.clientClosedEarly = true;
      });
      const n = counts.get(key) ?? 0;
      counts.set(key, n + 1);
      const handler = table.get(key);
      if (handler === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'Not Found' }));
        return;
      }
      Promise.resolve(handler(req, res, hit, n)).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    hits,
    routes: table,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts an SSE response like vLLM's StreamingResponse. */
export function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
}

/** Writes a whole SSE body (e.g. a fixture) and ends. */
export const replay =
  (text: string): Handler =>
  (_req, res) => {
    sseHead(res);
    res.end(text);
  };

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res
      .writeHead(status, { 'content-type': 'application/json', ...headers })
      .end(typeof body === 'string' ? body : JSON.stringify(body));
  };

/**
 * The routes a probe reads, as vLLM 0.11 serves them: GET /health (200), GET /version and GET /v1/models listing
 * `models` (default ['m']) with their `max_model_len` (default 4096); `guard` wraps the model list (e.g. a key check).
 * The generation routes are the test's own.
 */
export function probeRoutes(
  server: ReplayServer,
  opts: { models?: readonly string[]; maxModelLen?: number; guard?: (h: Handler) => Handler } = {},
): void {
  const guard = opts.guard ?? ((h: Handler) => h);
  const card = (id: string) => ({
    id,
    object: 'model',
    created: 1,
    owned_by: 'vllm',
    root: id,
    parent: null,
    max_model_len: opts.maxModelLen ?? 4096,
    permission: [],
  });
  server.routes.set('GET /health', (_r, res) => void res.writeHead(200).end());
  server.routes.set('GET /version', json(200, { version: '0.11.0' }));
  server.routes.set('GET /v1/models', guard(json(200, { object: 'list', data: (opts.models ?? ['m']).map(card) })));
}

/** A trace request without sampling cuts (temperature 1, top-p 1, no top-k), seed 1, 3 logprobs; `over` changes it. */
export const traceRequest = (over: Partial<TraceRequest> = {}): TraceRequest => ({
  prompt: 'p',
  maxTokens: 8,
  temperature: 1,
  topP: 1,
  topK: -1,
  seed: 1,
  topLogprobs: 3,
  thinking: false,
  ...over,
});

export const event = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;
export const DONE = 'data: [DONE]\n\n';

const top = (token: string, logprob: number) => ({ token, logprob, bytes: [...Buffer.from(token)] });

/** A chat logprob entry with the sampled token first, as vLLM orders it. */
export function entry(token: string, logprob: number, alts: [string, number][]): Record<string, unknown> {
  return {
    token,
    logprob,
    bytes: [...Buffer.from(token)],
    top_logprobs: [top(token, logprob), ...alts.map(([t, l]) => top(t, l))],
  };
}

export function chatChunk(
  content: string | null,
  entries: Record<string, unknown>[] | null,
  extra: Record<string, unknown> = {},
  delta: Record<string, unknown> = {},
): string {
  return event({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: 'm',
    choices: [
      {
        index: 0,
        delta: content === null ? delta : { content, ...delta },
        logprobs: entries === null ? null : { content: entries },
        finish_reason: null,
        token_ids: null,
        ...extra,
      },
    ],
  });
}

export const roleChunk = (): string =>
  event({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: 'm',
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    prompt_token_ids: null,
  });

export const usageChunk = (prompt: number, completion: number): string =>
  event({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: 'm',
    choices: [],
    usage: { prompt_tokens: prompt, total_tokens: prompt + completion, completion_tokens: completion },
  });

/** A simple token: sampled rank 1 with three alternatives below it. */
export function simpleEntry(token: string, i: number): Record<string, unknown> {
  const lp = -0.1 - (i % 7) * 0.05;
  return entry(token, lp, [
    ['a', lp - 1 - (i % 3) * 0.1],
    ['b', lp - 2],
    ['c', lp - 3 - (i % 5) * 0.2],
  ]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
