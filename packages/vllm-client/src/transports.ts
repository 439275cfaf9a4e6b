import OpenAI from 'openai';
import { VllmClientError } from './errors.js';
import { connectionError, errorFromStatus, hostOf, systemCode, type ErrorContext } from './http-errors.js';
import type { EndpointKind } from './types.js';

/**
 * What a transport hands a stream to, event by event, as it arrives. A transport's promise resolves after `[DONE]`
 * or as soon as the consumer returns true (stop: the transport drops the response), and rejects with whatever the
 * consumer throws, the abort signal's reason, or a VllmClientError of its own.
 */
export type StreamConsumer = {
  /** Once, when a 2xx event stream's headers arrived: the server accepted the request (it may queue it a while). */
  accepted(): void;
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

/** A response that ended cleanly without `[DONE]`; the client decides whether the trace was complete (finish seen). */
export function endedBeforeDone(ctx: AttemptContext): VllmClientError {
  return new VllmClientError('connection', `the stream from ${hostOf(ctx.endpoint)} ended before [DONE]`, {
    endpoint: ctx.endpoint,
  });
}

/**
 * The openai SDK drops vLLM's older flat error body (`{"object":"error","message":…}`): it reads only `body.error`,
 * so a 400 became "400 status code (no body)". This fetch wraps such a body as `{"error": {…}}` for it.
 */
export function flatErrorBodyFetch(inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (res.ok) return res;
    const text = await res.text();
    let body = text;
    try {
      const parsed = JSON.parse(text) as { object?: unknown; error?: unknown } | null;
      if (parsed !== null && typeof parsed === 'object' && parsed.object === 'error' && parsed.error === undefined)
        body = JSON.stringify({ error: parsed });
    } catch {
      // Not JSON: the SDK passes the text on as the message.
    }
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** Set when the consumer threw, so the SDK path does not mistake the consumer's error for a broken stream. */
class ConsumerFailure {
  constructor(readonly error: unknown) {}
}

/** The openai SDK path: chunks parsed by the SDK's own SSE decoder, one per event. */
export async function sdkStream(
  sdk: OpenAI,
  kind: EndpointKind,
  body: Record<string, unknown>,
  ctx: AttemptContext,
  consumer: StreamConsumer,
): Promise<void> {
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
  consumer.accepted();
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
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new VllmClientError('idle_timeout', `vLLM at ${ctx.endpoint} did not answer in time`, {
      endpoint: ctx.endpoint,
    });
  }
  if (err instanceof OpenAI.APIConnectionError) return connectionError(err.cause ?? err, ctx);
  if (err instanceof OpenAI.APIError) {
    const body = err.error === undefined ? err.message : { error: err.error };
    if (err.status === undefined) {
      // An in-band {"error": …} event: its code is in the body.
      return errorFromStatus(null, body, undefined, ctx);
    }
    return errorFromStatus(err.status, body, err.headers, ctx);
  }
  if (err instanceof SyntaxError) {
    return new VllmClientError('protocol', `vLLM at ${ctx.endpoint} sent an event that is not JSON (${err.message})`, {
      endpoint: ctx.endpoint,
    });
  }
  if (systemCode(err) !== null) return connectionError(err, ctx, 'mid-stream');
  return new VllmClientError('connection', `the stream from ${hostOf(ctx.endpoint)} broke (${describe(err)})`, {
    endpoint: ctx.endpoint,
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
