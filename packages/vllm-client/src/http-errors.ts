import { VllmClientError, redact } from './errors.js';
import { parseErrorBody, type ErrorInfo } from './schemas.js';

export type ErrorContext = { endpoint: string; model: string; apiKey: string | undefined; now: () => number };

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), or null. */
export function retryAfterMs(headers: Headers | undefined, now: () => number): number | null {
  if (headers === undefined) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return null;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? null : Math.max(0, date - now());
}

/** errorFromStatus for a response body read as text: JSON when it parses, else (a proxy's HTML page) the text itself. */
export function errorFromBodyText(status: number, text: string, headers: Headers, ctx: ErrorContext): VllmClientError {
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text is the message.
  }
  return errorFromStatus(status, parsed, headers, ctx);
}

/** Maps an HTTP error status (with its body) or an in-band error event to this package's error classes. */
export function errorFromStatus(
  status: number | null,
  body: unknown,
  headers: Headers | undefined,
  ctx: ErrorContext,
): VllmClientError {
  const info: ErrorInfo | null = parseErrorBody(body);
  const code = status ?? info?.code ?? null;
  const raw =
    info?.message ||
    (typeof body === 'string' ? body.slice(0, 500) : '') ||
    (code === null ? 'unknown error' : `HTTP ${code}`);
  const detail = redact(raw, ctx.apiKey);
  const where = `vLLM at ${ctx.endpoint}`;
  const options = { endpoint: ctx.endpoint, status: code };
  if (code === 401 || code === 403) {
    return new VllmClientError(
      'auth',
      `${where} rejected the API key (HTTP ${code}: ${detail}). Set VLLM_API_KEY or the apiKey option to the server's --api-key.`,
      options,
    );
  }
  if (code === 404) {
    if (info?.type === 'NotFoundError' || /model/i.test(detail)) {
      return new VllmClientError(
        'model_not_found',
        `${where} does not serve model "${ctx.model}" (${detail}). Use a name from GET /v1/models (vLLM's --served-model-name).`,
        options,
      );
    }
    return new VllmClientError(
      'bad_request',
      `${where} has no such route (HTTP 404: ${detail}). Does the base URL end in /v1?`,
      options,
    );
  }
  if (code === 400 || code === 422) {
    const hint =
      info?.param === 'logprobs' || /logprobs/i.test(detail)
        ? " The server allows fewer logprobs than requested (chat asks for topLogprobs+1 in topKMode 'exact'): start vLLM with a larger --max-logprobs, use topKMode 'chat-view' (asks for topLogprobs), or lower topLogprobs."
        : '';
    return new VllmClientError('bad_request', `${where} rejected the request (HTTP ${code}: ${detail}).${hint}`, {
      ...options,
      param: info?.param ?? null,
    });
  }
  if (code === 429 || (code !== null && code >= 500)) {
    return new VllmClientError(code === 429 ? 'rate_limited' : 'server', `${where} answered HTTP ${code}: ${detail}`, {
      ...options,
      retryAfterMs: retryAfterMs(headers, ctx.now),
    });
  }
  // An in-band error event without a status code is the server's failure.
  return new VllmClientError(
    code === null ? 'server' : 'http',
    `${where} answered ${code === null ? 'with an error' : `HTTP ${code}`}: ${detail}`,
    options,
  );
}

/**
 * A failed request or a broken stream (refused, reset, DNS) as a `connection` error that names what happened and the
 * host: "connection reset by 127.0.0.1:8000". A response that is not HTTP at all (node's parser error, HPE_*) is a
 * `protocol` error: the same bytes will come back on a retry.
 */
export function connectionError(cause: unknown, ctx: ErrorContext, when = ''): VllmClientError {
  const code = systemCode(cause);
  const host = hostOf(ctx.endpoint);
  const suffix = when === '' ? '' : ` ${when}`;
  if (code !== null && code.startsWith('HPE_')) {
    return new VllmClientError(
      'protocol',
      redact(`${host} did not answer HTTP (${code})${suffix}: is the base URL a vLLM server?`, ctx.apiKey),
      {
        endpoint: ctx.endpoint,
      },
    );
  }
  const what = code === null ? null : SYSTEM_CODES[code];
  const text =
    cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
  const message =
    what !== undefined && what !== null
      ? `${what} ${host}${suffix}`
      : `cannot reach vLLM at ${ctx.endpoint} (${code ?? text})${suffix}`;
  return new VllmClientError(
    'connection',
    redact(`${message}. Is the server up, and is the base URL right?`, ctx.apiKey),
    { endpoint: ctx.endpoint },
  );
}

const SYSTEM_CODES: Record<string, string> = {
  ECONNRESET: 'connection reset by',
  ECONNREFUSED: 'connection refused by',
  EPIPE: 'connection closed by',
  ENOTFOUND: 'no such host:',
  EAI_AGAIN: 'DNS lookup failed for',
  ETIMEDOUT: 'connection timed out to',
  EHOSTUNREACH: 'no route to',
  ENETUNREACH: 'no network route to',
  UND_ERR_SOCKET: 'connection closed by',
};

/** host:port of a base URL, for messages. */
export function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

/** The first system error code (ECONNRESET, HPE_…) along an error's cause chain. */
export function systemCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
