import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ChunkParser } from './chunk-scanner.js';
import type { EndpointKind } from './decoder.js';
import { ConnectionError, ProtocolError } from './errors.js';
import { connectionError, errorFromStatus } from './http-errors.js';
import { SseSplitter } from './sse.js';
import type { AttemptContext, ChunkBatches } from './transports.js';

// Reads buffered ahead of the consumer before the socket is paused; the decoder keeps up, so this rarely binds.
const HIGH_WATER_BATCHES = 64;

/**
 * How long an idle keep-alive socket is kept for reuse. uvicorn (vLLM's server) closes idle connections after 5 s
 * (`--timeout-keep-alive`), and Node's global agent keeps them for exactly 5 s, so a request could be written into a
 * socket the server was closing at that moment: the request then failed with ECONNRESET / "socket hang up". Dropping
 * ours well before the server's timeout leaves a margin for clock skew and a busy event loop on either side.
 */
export const IDLE_SOCKET_MS = 3_000;

/** Sockets for the lean transport: one agent per client, so its idle timeout is ours and not the global agent's. */
export type SocketAgents = { http: HttpAgent; https: HttpsAgent };

export function createSocketAgents(idleSocketMs: number = IDLE_SOCKET_MS): SocketAgents {
  // `timeout` is also armed on busy sockets, where it only emits 'timeout' (the agent destroys free sockets only);
  // silent streams (a request queued behind --max-num-seqs) are the client's watchdog's business. LIFO reuses the
  // most recently used socket, the one furthest from any idle timeout.
  const options = { keepAlive: true, timeout: idleSocketMs, scheduling: 'lifo' as const };
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

/** What one request attempt needs besides its URL, headers and body. */
export type NodeHttpOptions = { kind: EndpointKind; agents: SocketAgents };

/**
 * Sends the request. A failure before any response byte on a *reused* keep-alive socket is the keep-alive race (the
 * server closed the idle socket while our request was on its way), not a server fault: it is resent at once on a new
 * connection of its own (`agent: false`, so no other stale idle socket can be picked), without backoff and without
 * counting as an attempt. A failure there is a real one.
 */
async function send(url: string, headers: Record<string, string>, payload: string, agents: SocketAgents, ctx: AttemptContext): Promise<IncomingMessage> {
  const https = url.startsWith('https:');
  const request = https ? httpsRequest : httpRequest;
  const sized = { ...headers, 'content-length': String(Buffer.byteLength(payload)) };
  const attempt = (agent: HttpAgent | false) =>
    new Promise<IncomingMessage | 'stale'>((resolve, reject) => {
      const req: ClientRequest = request(url, { method: 'POST', headers: sized, agent, signal: ctx.signal }, resolve);
      req.on('error', (err) => {
        if (ctx.signal.aborted) reject(ctx.signal.reason);
        else if (req.reusedSocket) resolve('stale');
        else reject(connectionError(err, ctx));
      });
      req.end(payload);
    });
  const res = await attempt(https ? agents.https : agents.http);
  if (res !== 'stale') return res;
  const fresh = await attempt(false);
  // A socket of its own is never reused, so 'stale' cannot come back; the check keeps the types honest.
  if (fresh === 'stale') throw new ConnectionError(`vLLM at ${ctx.endpoint} closed a new connection before answering`, { endpoint: ctx.endpoint });
  return fresh;
}

/**
 * The lean hot path over node:http, used when no `fetch` is injected: the same SSE splitter as the fetch path,
 * without the WHATWG-stream layer, which costs measurable time per read at vLLM's chunk rates, and chat token chunks
 * read by the chunk scanner instead of JSON.parse (see chunk-scanner.ts).
 */
export async function* nodeHttpChunks(
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  ctx: AttemptContext,
  options: NodeHttpOptions,
): ChunkBatches {
  const res = await send(url, headers, JSON.stringify(body), options.agents, ctx);
  const status = res.statusCode ?? 0;
  const responseHeaders = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') responseHeaders.set(k, v);
  if (status < 200 || status >= 300) {
    let text = '';
    try {
      res.setEncoding('utf8');
      for await (const part of res) text += part as string;
    } catch (err) {
      throw ctx.signal.aborted ? ctx.signal.reason : connectionError(err, ctx);
    }
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (e.g. a proxy's HTML page): the text itself is the message.
    }
    throw errorFromStatus(status, parsed, responseHeaders, ctx);
  }
  const type = res.headers['content-type'] ?? '';
  if (!type.includes('text/event-stream')) {
    res.destroy();
    throw new ProtocolError(`vLLM at ${ctx.endpoint} answered ${status} with content-type "${type}", not an event stream`, { endpoint: ctx.endpoint });
  }

  const sse = new SseSplitter();
  const parser = new ChunkParser(options.kind);
  const queue: unknown[][] = [];
  let failure: unknown = null;
  let ended = false;
  let sawDone = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const payloads: string[] = [];
  res.on('data', (bytes: Buffer) => {
    if (sawDone || failure !== null) return;
    sse.push(bytes, payloads);
    if (payloads.length === 0) return;
    const batch: unknown[] = [];
    for (const p of payloads) {
      if (p === '[DONE]') {
        sawDone = true;
        break;
      }
      try {
        batch.push(parser.parse(p));
      } catch {
        failure = new ProtocolError(`vLLM at ${ctx.endpoint} sent an event that is not JSON: ${JSON.stringify(p.slice(0, 120))}`, { endpoint: ctx.endpoint });
        break;
      }
    }
    payloads.length = 0;
    if (batch.length > 0) queue.push(batch);
    if (queue.length >= HIGH_WATER_BATCHES) res.pause();
    notify();
  });
  res.on('end', () => {
    ended = true;
    notify();
  });
  res.on('error', (err) => {
    if (failure === null) failure = ctx.signal.aborted ? ctx.signal.reason : new ConnectionError(`stream from vLLM at ${ctx.endpoint} broke (${err.message})`, { endpoint: ctx.endpoint });
    notify();
  });
  // 'aborted'/'close' without 'end' is a cut stream.
  res.on('close', () => {
    if (!ended && failure === null) {
      failure = ctx.signal.aborted ? ctx.signal.reason : new ConnectionError(`stream from vLLM at ${ctx.endpoint} broke (connection closed)`, { endpoint: ctx.endpoint });
    }
    notify();
  });
  try {
    for (;;) {
      while (queue.length > 0) {
        yield queue.shift()!;
        if (res.isPaused() && queue.length < HIGH_WATER_BATCHES / 2) res.resume();
      }
      if (sawDone) return;
      if (failure !== null) throw failure;
      if (ended) throw new ConnectionError(`stream from vLLM at ${ctx.endpoint} ended before [DONE]`, { endpoint: ctx.endpoint });
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (!ended) res.destroy();
  }
}
