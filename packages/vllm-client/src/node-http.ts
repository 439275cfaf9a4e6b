import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConnectionError, ProtocolError } from './errors.js';
import { connectionError, errorFromStatus } from './http-errors.js';
import { SseSplitter } from './sse.js';
import type { AttemptContext, ChunkBatches } from './transports.js';

// Reads buffered ahead of the consumer before the socket is paused; the decoder keeps up, so this rarely binds.
const HIGH_WATER_BATCHES = 64;

/**
 * The lean hot path over node:http, used when no `fetch` is injected: the same SSE splitter and JSON.parse as the
 * fetch path, without the WHATWG-stream layer, which costs measurable time per read at vLLM's chunk rates.
 */
export async function* nodeHttpChunks(
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  ctx: AttemptContext,
): ChunkBatches {
  const payload = JSON.stringify(body);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(payload)) }, signal: ctx.signal }, resolve);
    req.on('error', (err) => reject(ctx.signal.aborted ? ctx.signal.reason : connectionError(err, ctx)));
    req.end(payload);
  });
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
        batch.push(JSON.parse(p));
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
