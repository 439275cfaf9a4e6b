import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { handleGeneration } from './generation.js';
import { EMULATOR_VERSION, modelsBody } from './model-cards.js';
import { RequestRejection } from './request.js';
import { sendJson, type EmulatorState } from './state.js';

const MAX_BODY = 8 * 1024 * 1024;

function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** `Authorization: Bearer <apiKey>` check in constant time (always true without a key). */
function authorisation(apiKey: string | null): (req: IncomingMessage) => boolean {
  if (apiKey === null) return () => true;
  const keyHash = keyDigest(`Bearer ${apiKey}`);
  return (req) => {
    const header = req.headers.authorization;
    return typeof header === 'string' && timingSafeEqual(keyDigest(header), keyHash);
  };
}

/** GET routes; false when the path is not one of them. */
function serveGet(state: EmulatorState, path: string, res: ServerResponse): boolean {
  switch (path) {
    case '/health':
      res.writeHead(state.staticFaults().unhealthy === true ? 503 : 200);
      res.end();
      return true;
    case '/version':
      sendJson(res, 200, JSON.stringify({ version: EMULATOR_VERSION }));
      return true;
    case '/v1/models': {
      const o = state.opts;
      sendJson(
        res,
        200,
        modelsBody({ models: o.models, created: state.created, maxModelLen: o.maxModelLen, seed: o.seed }),
      );
      return true;
    }
    case '/metrics':
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(state.metrics());
      return true;
    default:
      return false;
  }
}

/** Reads a POST body (at most MAX_BODY bytes, else 413), then hands it to `handle`. */
function readBody(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  handle: (raw: string) => void,
): void {
  const parts: Buffer[] = [];
  let size = 0;
  req.on('data', (b: Buffer) => {
    size += b.length;
    if (size > MAX_BODY) {
      state.reject(res, new RequestRejection(413, 'Bad Request', `Request body larger than ${MAX_BODY} bytes.`, null));
      req.destroy();
      return;
    }
    parts.push(b);
  });
  req.on('end', () => {
    if (size <= MAX_BODY) handle(Buffer.concat(parts).toString('utf8'));
  });
}

function serveGenerationPost(state: EmulatorState, req: IncomingMessage, res: ServerResponse, path: string): void {
  if (req.method !== 'POST') {
    sendJson(res, 405, '{"detail":"Method Not Allowed"}');
    req.resume();
    return;
  }
  readBody(state, req, res, (raw) => {
    try {
      handleGeneration(state, req, res, path, raw);
    } catch (e) {
      // A bug must cost one request, not the server other tests and runs share.
      state.opts.log?.(`internal error: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent)
        state.reject(
          res,
          new RequestRejection(500, 'InternalServerError', `emulator internal error: ${(e as Error).message}`, null),
        );
      else res.destroy();
    }
  });
}

/** The emulator's HTTP request listener: auth on /v1/*, the GET routes, the two generation routes, 404 else. */
export function createRequestHandler(state: EmulatorState): RequestListener {
  const authorised = authorisation(state.opts.apiKey);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/v1') && !authorised(req)) {
      if (path.endsWith('completions')) state.requests++;
      state.rejected++;
      sendJson(res, 401, '{"error":"Unauthorized"}');
      req.resume();
      return;
    }
    if (req.method === 'GET') {
      req.resume();
      if (serveGet(state, path, res)) return;
    }
    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      serveGenerationPost(state, req, res, path);
      return;
    }
    req.resume();
    sendJson(res, 404, '{"detail":"Not Found"}');
  };
}
