import OpenAI from 'openai';
import { ConnectionError, ProtocolError, TimeoutError, type VllmClientError } from './errors.js';
import { connectionError, errorFromBodyText, errorFromStatus, type ErrorContext } from './http-errors.js';
import type { EndpointKind } from './decoder.js';
import { SseSplitter } from './sse.js';

/**
 * What a transport hands a stream to, event by event, as it arrives. A transport's promise resolves after `[DONE]`
 * or as soon as the consumer returns true (stop: the transport drops the response), and rejects with whatever the
 * consumer throws, the abort signal's reason, or a VllmClientError of its own.
 */
export type StreamConsumer = {
  /** Once per network read, before its events. */
  read(): void;
  /** One `data:` payload as received (never `[DONE]`). */
  payload(payload: string): boolean;
  /** One chunk already parsed (the openai SDK parses its stream itself). */
  chunk(chunk: unknown): boolean;
};

export type AttemptContext = ErrorContext & { signal: AbortSignal };

/**
 * Hands one read's payloads to the consumer and empties the list: 'done' at `[DONE]`, 'stop' when the consumer
 * stopped the trace, null when the stream goes on.
 */
export function deliver(payloads: string[], consumer: StreamConsumer): 'done' | 'stop' | null {
  try {
    for (let i = 0; i < payloads.length; i++) {
      const p = payloads[i] as string;
      if (p === '[DONE]') return 'done';
      if (consumer.payload(p)) return 'stop';
    }
    return null;
  } finally {
    payloads.length = 0;
  }
}

/** Thrown through so the caller can tell its own abort (stop, timeout, caller's signal) from a failure. */
function abortedOr(err: unknown, ctx: AttemptContext, map: (err: unknown) => VllmClientError): unknown {
  if (ctx.signal.aborted) return ctx.signal.reason;
  return map(err);
}

/** The lean path over an injected or global `fetch`: a byte-level SSE splitter; parsing is the consumer's. */
export async function fetchStream(
  fetchFn: typeof fetch,
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  ctx: AttemptContext,
  consumer: StreamConsumer,
): Promise<void> {
  let res: Response;
  try {
    res = await fetchFn(url, { method: 'POST', headers, body: JSON.stringify(body), signal: ctx.signal });
  } catch (err) {
    throw abortedOr(err, ctx, (e) => connectionError(e, ctx));
  }
  if (!res.ok) {
    let text = '';
    try {
      text = await res.text();
    } catch (err) {
      throw abortedOr(err, ctx, (e) => connectionError(e, ctx));
    }
    throw errorFromBodyText(res.status, text, res.headers, ctx);
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.body === null || !type.includes('text/event-stream')) {
    await res.body?.cancel().catch(() => undefined);
    throw new ProtocolError(`vLLM at ${ctx.endpoint} answered 200 with content-type "${type}", not an event stream`, { endpoint: ctx.endpoint });
  }
  const reader = res.body.getReader();
  const sse = new SseSplitter();
  const payloads: string[] = [];
  try {
    for (;;) {
      let read: Awaited<ReturnType<typeof reader.read>>;
      try {
        read = await reader.read();
      } catch (err) {
        throw abortedOr(err, ctx, (e) => new ConnectionError(`stream from vLLM at ${ctx.endpoint} broke (${describe(e)})`, { endpoint: ctx.endpoint }));
      }
      if (read.done) break;
      consumer.read();
      sse.push(read.value, payloads);
      if (deliver(payloads, consumer) !== null) return;
    }
    throw new ConnectionError(`stream from vLLM at ${ctx.endpoint} ended before [DONE]`, { endpoint: ctx.endpoint });
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** Set when the consumer threw, so the SDK path does not mistake the consumer's error for a broken stream. */
class ConsumerFailure {
  constructor(readonly error: unknown) {}
}

/** The openai SDK path: chunks parsed by the SDK's own SSE decoder, one per event. */
export async function sdkStream(sdk: OpenAI, kind: EndpointKind, body: Record<string, unknown>, ctx: AttemptContext, consumer: StreamConsumer): Promise<void> {
  const map = (err: unknown) => abortedOr(err, ctx, (e) => sdkError(e, ctx));
  let stream: AsyncIterable<unknown>;
  try {
    const options = { signal: ctx.signal, maxRetries: 0 };
    // vLLM-only fields (top_k, chat_template_kwargs, …) pass through the SDK untouched; its types do not know them.
    stream =
      kind === 'chat'
        ? await sdk.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, options)
        : await sdk.completions.create(body as unknown as OpenAI.CompletionCreateParamsStreaming, options);
  } catch (err) {
    throw map(err);
  }
  try {
    for await (const chunk of stream) {
      consumer.read();
      let stop: boolean;
      try {
        stop = consumer.chunk(chunk);
      } catch (err) {
        throw new ConsumerFailure(err);
      }
      if (stop) return;
    }
  } catch (err) {
    if (err instanceof ConsumerFailure) throw err.error;
    throw map(err);
  }
}

/** Maps an openai SDK error to this package's classes. */
export function sdkError(err: unknown, ctx: ErrorContext): VllmClientError {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new TimeoutError(`vLLM at ${ctx.endpoint} did not answer in time`, { endpoint: ctx.endpoint });
  if (err instanceof OpenAI.APIConnectionError) return connectionError(err.cause ?? err, ctx);
  if (err instanceof OpenAI.APIError) {
    const body = err.error === undefined ? err.message : { error: err.error };
    if (err.status === undefined) {
      // An in-band {"error": …} event: its code is in the body.
      return errorFromStatus(null, body, undefined, ctx);
    }
    return errorFromStatus(err.status, body, err.headers, ctx);
  }
  return new ConnectionError(`stream from vLLM at ${ctx.endpoint} broke (${describe(err)})`, { endpoint: ctx.endpoint });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
