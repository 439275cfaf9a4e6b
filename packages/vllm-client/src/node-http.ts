import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { VllmClientError } from './errors.js';
import { connectionError, errorFromBodyText, hostOf } from './http-errors.js';
import { SseSplitter } from './internal/sse.js';
import { deliver, endedBeforeDone, type AttemptContext, type StreamConsumer } from './transports.js';

/** How long a response may linger after [DONE] before its socket is dropped instead of reused. */
const DONE_GRACE_MS = 1_000;

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
export type NodeHttpOptions = { agents: SocketAgents };

/**
 * Sends the request. A failure before any response byte on a *reused* keep-alive socket is the keep-alive race (the
 * server closed the idle socket while our request was on its way), not a server fault: it is resent at once on a new
 * connection of its own (`agent: false`, so no other stale idle socket can be picked), without backoff and without
 * counting as an attempt. A failure there is a real one.
 */
async function send(
  url: string,
  headers: Record<string, string>,
  payload: string,
  agents: SocketAgents,
  ctx: AttemptContext,
): Promise<IncomingMessage> {
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
  if (fresh === 'stale')
    throw new VllmClientError('connection', `connection closed by ${hostOf(ctx.endpoint)} before it answered`, {
      endpoint: ctx.endpoint,
    });
  return fresh;
}

/**
 * The lean hot path over node:http: the same SSE splitter as the fetch path, without the WHATWG-stream layer, and
 * every event handed to the consumer inside the socket's 'data' callback. No promise or async-generator hop per
 * read, and a stop takes effect (the response destroyed, so vLLM sees the disconnect) before the next read.
 */
export async function nodeHttpStream(
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  ctx: AttemptContext,
  options: NodeHttpOptions,
  consumer: StreamConsumer,
): Promise<void> {
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
    throw errorFromBodyText(status, text, responseHeaders, ctx);
  }
  const type = res.headers['content-type'] ?? '';
  if (!type.includes('text/event-stream')) {
    res.destroy();
    throw new VllmClientError(
      'protocol',
      `vLLM at ${ctx.endpoint} answered ${status} with content-type "${type}", not an event stream`,
      {
        endpoint: ctx.endpoint,
      },
    );
  }

  consumer.accepted();
  return new Promise<void>((resolve, reject) => {
    const sse = new SseSplitter();
    const payloads: string[] = [];
    let ended = false;
    let settled = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const settle = (failure: unknown, keepSocket: boolean) => {
      if (settled) return;
      settled = true;
      if (!ended) {
        if (!keepSocket) res.destroy();
        // After [DONE] vLLM ends the response at once; one that lingers must not hold its socket for ever. Cleared at
        // 'end': a pending timer keeps this whole closure (decoder included) alive.
        else grace = setTimeout(() => res.destroy(), DONE_GRACE_MS).unref();
      }
      if (failure === undefined) resolve();
      else reject(failure);
    };
    const broke = (err: unknown) => (ctx.signal.aborted ? ctx.signal.reason : connectionError(err, ctx, 'mid-stream'));
    res.on('data', (bytes: Buffer) => {
      if (settled) return;
      consumer.read();
      try {
        sse.push(bytes, payloads);
        const end = deliver(payloads, consumer);
        // After [DONE] the response ends by itself and its socket can serve the next request; a stop drops it.
        if (end !== null) settle(undefined, end === 'done');
      } catch (err) {
        settle(err, false);
      }
    });
    // These fire after [DONE] too, when the outcome is settled: no error is built then (an Error captures a stack).
    res.on('end', () => {
      ended = true;
      clearTimeout(grace);
      if (!settled) settle(endedBeforeDone(ctx), true);
    });
    res.on('error', (err) => settled || settle(broke(err), false));
    // 'aborted'/'close' without 'end' is a cut stream (a reset shows as ECONNRESET on the socket).
    res.on('close', () => settled || settle(broke(Object.assign(new Error('closed'), { code: 'EPIPE' })), false));
  });
}
