import type { TraceResult } from './types.js';

const BRAND = Symbol.for('@deepconf-safety/vllm-client/error');

/** Root of every error this package throws. Messages never contain the API key. */
export class VllmClientError extends Error {
  readonly [BRAND] = true;
  /** Base URL of the endpoint involved, when there was one. */
  readonly endpoint: string | null;
  /** HTTP status, or the `code` of an in-band error event. */
  readonly status: number | null;

  constructor(message: string, options: { endpoint?: string | null; status?: number | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.endpoint = options.endpoint ?? null;
    this.status = options.status ?? null;
  }
}

/** The server could not be reached (refused, reset, DNS) or answered 503 on /health. */
export class ConnectionError extends VllmClientError {}
/** 401/403: the API key is missing or wrong (vLLM's `--api-key`). */
export class AuthenticationError extends VllmClientError {}
/** 404: the model is not served by this endpoint. */
export class ModelNotFoundError extends VllmClientError {}
/** 400/422: vLLM rejected the request, e.g. `top_logprobs` above `--max-logprobs`. */
export class BadRequestError extends VllmClientError {
  /** The `param` vLLM named, if any (e.g. `logprobs`). */
  readonly param: string | null;
  constructor(message: string, options: { endpoint?: string | null; status?: number | null; param?: string | null; cause?: unknown } = {}) {
    super(message, options);
    this.param = options.param ?? null;
  }
}
/** 5xx or 429 from the server, or an in-band error event with such a code. */
export class ServerError extends VllmClientError {
  /** Seconds (possibly fractional) the server asked us to wait, from `retry-after(-ms)`. */
  readonly retryAfterMs: number | null;
  constructor(message: string, options: { endpoint?: string | null; status?: number | null; retryAfterMs?: number | null; cause?: unknown } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}
/** No answer (headers, or the next stream bytes) within `timeoutMs`. */
export class TimeoutError extends VllmClientError {}
/** The stream broke after the first token; `partial` holds what arrived. The runner decides whether to retry the trace. */
export class StreamInterruptedError extends VllmClientError {
  readonly partial: TraceResult;
  constructor(message: string, partial: TraceResult, options: { endpoint?: string | null; status?: number | null; cause?: unknown } = {}) {
    super(message, options);
    this.partial = partial;
  }
}
/** The stream contained something this client cannot interpret (not JSON, wrong shape). */
export class ProtocolError extends VllmClientError {}

export function isVllmClientError(value: unknown): value is VllmClientError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** Remove every occurrence of the secret from a string (servers may echo headers back). */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret.length === 0) return text;
  return text.split(secret).join('***');
}
