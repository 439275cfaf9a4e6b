const BRAND = Symbol.for('@deepconf-safety/vllm-client/error');

/**
 * What went wrong, as data: callers branch on this, never on a class or a name, and it survives `postMessage` and
 * JSON (see {@link VllmClientError.toJSON}).
 * - `config`: an option or a TraceRequest this client cannot use (the caller's mistake; never retried).
 * - `connection`: refused, reset, DNS, or the stream was cut before its finish chunk.
 * - `idle_timeout`: once tokens flow, nothing arrived for `idleTimeoutMs`.
 * - `first_token_timeout`: no first token within `firstTokenTimeoutMs` of the request (no headers, or headers and
 *   no token: a server that accepted the request and stalled, or queued it longer than that).
 * - `trace_timeout`: the trace (every attempt and backoff included) outlived `traceTimeoutMs`.
 * - `auth`: 401/403, the API key is missing or wrong.
 * - `model_not_found`: 404 for the model.
 * - `bad_request`: 400/422 (e.g. `top_logprobs` above `--max-logprobs`) or a 404 route.
 * - `rate_limited`: 429.
 * - `server`: 5xx, an in-band error event, or a `finish_reason` of `error`/`abort`.
 * - `protocol`: the server sent something this client cannot read or must not average in: not an event stream, not
 *   JSON, the wrong shape, a token without the `top_logprobs` asked for, a positive or NaN logprob.
 * - `http`: any other HTTP status.
 */
export type VllmErrorCode =
  | 'config'
  | 'connection'
  | 'idle_timeout'
  | 'first_token_timeout'
  | 'trace_timeout'
  | 'auth'
  | 'model_not_found'
  | 'bad_request'
  | 'rate_limited'
  | 'server'
  | 'protocol'
  | 'http';

const CODES: ReadonlySet<string> = new Set<VllmErrorCode>([
  'config',
  'connection',
  'idle_timeout',
  'first_token_timeout',
  'trace_timeout',
  'auth',
  'model_not_found',
  'bad_request',
  'rate_limited',
  'server',
  'protocol',
  'http',
]);

/** Codes worth another request: the same request may succeed on a new connection or a less busy server. */
export const RETRYABLE_CODES: ReadonlySet<VllmErrorCode> = new Set<VllmErrorCode>([
  'connection',
  'idle_timeout',
  'first_token_timeout',
  'rate_limited',
  'server',
]);

/** The plain-data form of a VllmClientError (what `toJSON` returns and `fromJSON` reads). */
export type VllmClientErrorData = {
  name: 'VllmClientError';
  code: VllmErrorCode;
  message: string;
  endpoint: string | null;
  status: number | null;
  param: string | null;
  retryAfterMs: number | null;
  attempts: number | null;
  tokens: number | null;
};

export type VllmClientErrorOptions = {
  endpoint?: string | null;
  status?: number | null;
  /** The `param` vLLM named in a 400 (e.g. `logprobs`). */
  param?: string | null;
  /** How long the server asked us to wait (`retry-after(-ms)`). */
  retryAfterMs?: number | null;
  cause?: unknown;
};

/** The one error this package throws. Messages never contain the API key. */
export class VllmClientError extends Error {
  readonly [BRAND] = true;
  readonly code: VllmErrorCode;
  /** Base URL of the endpoint involved, when there was one. */
  readonly endpoint: string | null;
  /** HTTP status, or the `code` of an in-band error event. */
  readonly status: number | null;
  readonly param: string | null;
  readonly retryAfterMs: number | null;
  /** Requests made for the trace that failed (set by runTrace/streamTrace; null elsewhere). */
  attempts: number | null = null;
  /** Tokens the last attempt received before it failed (set by runTrace/streamTrace). */
  tokens: number | null = null;

  constructor(code: VllmErrorCode, message: string, options: VllmClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VllmClientError';
    this.code = code;
    this.endpoint = options.endpoint ?? null;
    this.status = options.status ?? null;
    this.param = options.param ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** Plain data for `postMessage` or JSON; `fromJSON` rebuilds an equal error on the other side. */
  toJSON(): VllmClientErrorData {
    return {
      name: 'VllmClientError',
      code: this.code,
      message: this.message,
      endpoint: this.endpoint,
      status: this.status,
      param: this.param,
      retryAfterMs: this.retryAfterMs,
      attempts: this.attempts,
      tokens: this.tokens,
    };
  }

  /** The error `toJSON` described, or null when `data` is not such a description. */
  static fromJSON(data: unknown): VllmClientError | null {
    if (typeof data !== 'object' || data === null) return null;
    const d = data as Partial<Record<keyof VllmClientErrorData, unknown>>;
    if (
      d.name !== 'VllmClientError' ||
      typeof d.code !== 'string' ||
      !CODES.has(d.code) ||
      typeof d.message !== 'string'
    )
      return null;
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    const err = new VllmClientError(d.code as VllmErrorCode, d.message, {
      endpoint: typeof d.endpoint === 'string' ? d.endpoint : null,
      status: num(d.status),
      param: typeof d.param === 'string' ? d.param : null,
      retryAfterMs: num(d.retryAfterMs),
    });
    err.attempts = num(d.attempts);
    err.tokens = num(d.tokens);
    return err;
  }
}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isVllmClientError(value: unknown): value is VllmClientError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** Remove every occurrence of the secret from a string (servers may echo headers back). */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret.length === 0) return text;
  return text.split(secret).join('***');
}
