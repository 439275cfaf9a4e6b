import OpenAI from 'openai';
import { DEADLINE, runAttempt, type TokenHook, type Transport } from './attempt.js';
import { sortedTopK } from './internal/decoder.js';
import { buildBody, checkTraceRequest } from './internal/request-body.js';
import { EndpointPool, type Endpoint } from './endpoint-pool.js';
import { RETRYABLE_CODES, VllmClientError, isVllmClientError, redact } from './errors.js';
import type { ErrorContext } from './http-errors.js';
import { joinUrl, sdkBase } from './url.js';
import { probeEndpoint } from './probe.js';
import { createSocketAgents, IDLE_SOCKET_MS, nodeHttpStream, type SocketAgents } from './node-http.js';
import { flatErrorBodyFetch, sdkStream } from './transports.js';
import type {
  EndpointKind,
  ServerProbe,
  StopRule,
  TokenEvent,
  TokenInfo,
  TopKMode,
  TraceRequest,
  TraceResult,
} from './types.js';

export type VllmClientOptions = {
  /** vLLM OpenAI base URLs, e.g. `http://127.0.0.1:8000/v1`. A router (vLLM production-stack) is just one more URL. */
  baseURLs: readonly string[];
  /** Bearer key (vLLM's `--api-key`); defaults to `env.VLLM_API_KEY`. Never logged or put in an error. */
  apiKey?: string;
  /** Served model name (`--served-model-name`). */
  model: string;
  /** `chat` (default): /v1/chat/completions. `completions`: legacy /v1/completions with a raw prompt. */
  endpoint?: EndpointKind;
  /**
   * Requests beyond the first per trace, for errors a new request may cure (connection, idle timeout, 429, 5xx, a
   * server-side `finish_reason` of error/abort), before or after the first token. Default 3; 0 = one request.
   * `RunHooks.maxRetries` overrides it per trace. 400s, protocol errors and the trace deadline are never retried.
   */
  maxRetries?: number;
  /**
   * Longest silence tolerated between two stream reads once tokens flow. Default 30 000 ms. Also the deadline of each
   * probe call.
   */
  idleTimeoutMs?: number;
  /**
   * Longest wait of one request for its first token, headers included (a request queued inside vLLM behind
   * --max-num-seqs is silent until scheduled, so this is larger than the idle timeout). Default 120 000 ms. The error
   * (`first_token_timeout`, "no first token after 120 s") is retried like an idle timeout.
   */
  firstTokenTimeoutMs?: number;
  /** Deadline of a whole trace, every attempt and backoff included. Default 600 000 ms. */
  traceTimeoutMs?: number;
  /** How streams are read. `lean` (default, fastest measured): node:http and a byte-level SSE splitter. `sdk`: the openai SDK's stream. */
  transport?: 'lean' | 'sdk';
  /**
   * \`lean\` only: how long an idle keep-alive connection is kept for the next request. Default 3 000 ms, well below
   * uvicorn's 5 s keep-alive timeout, so we never send into a connection the server is closing. Lower it if a proxy
   * in front of vLLM closes idle connections sooner.
   */
  idleSocketMs?: number;
  /** First retry delay; doubles per attempt with jitter. Default 250 ms. */
  retryBaseMs?: number;
  /** Cap on the computed retry delay. Default 8 000 ms. */
  retryMaxMs?: number;
  /** Cap on a server's `retry-after`. Default 60 000 ms. */
  maxRetryAfterMs?: number;
  /** How long a failed endpoint stays out before /health is tried again. Default 5 000 ms. */
  reprobeAfterMs?: number;
  /**
   * Chat only: `exact` (default) requests K+1 `top_logprobs` and rebuilds DeepConf's reference set exactly (the server
   * needs `--max-logprobs` ≥ K+1); `chat-view` requests K and averages the K returned values, for servers capped at K
   * (stock vLLM: 20). See {@link TopKMode} for how the two differ.
   */
  topKMode?: TopKMode;
  /** `top_logprobs` value `probe()` sends to learn the server's limit. Default 21 (top-20 confidence over chat). */
  probeTopLogprobs?: number;
  /** Injected I/O, for tests: `fetch` serves probes, /health and the `sdk` transport. */
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  env?: Readonly<Record<string, string | undefined>>;
  /** Receives one line per notable event (server version, endpoint taken out). Never sees the key. */
  log?: (message: string) => void;
};

export type RunHooks = {
  /** Called for every token in order; return true to stop the trace now (the request is aborted at once). */
  onToken?: (token: TokenInfo) => boolean;
  /**
   * DeepConf's stop rule, applied by the client per token: the trace ends `early_stopped` after the token at which the
   * mean confidence of the last `window` scored tokens first falls below `threshold` (null: never).
   */
  stopRule?: StopRule;
  /** Retries of this trace (overrides the client's `maxRetries`): at most maxRetries + 1 requests reach a server. */
  maxRetries?: number;
  /** Cancels the trace; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
};

/** The longest delay a Node timer keeps (2^31 - 1 ms, 24.8 days); a longer one is clamped to 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** streamTrace's reason for aborting a run whose consumer left the loop early. */
const CONSUMER_LEFT = Symbol('consumer left');

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What #run needs besides the request: how tokens are observed and what ends or retries the trace. */
type RunPlan = {
  hook: TokenHook | null;
  stopRule: StopRule | null;
  maxRetries: number;
  signal: AbortSignal | undefined;
  retryAfterTokens: boolean;
};

/** Streaming client for vLLM's OpenAI-compatible server: one n=1 request per trace, per-token confidences, early abort. */
export class VllmClient {
  readonly model: string;
  readonly endpointKind: EndpointKind;
  readonly transport: 'lean' | 'sdk';
  #topKMode: TopKMode = 'exact';
  readonly #apiKey: string | undefined;
  readonly #pool: EndpointPool;
  readonly #sdks = new Map<string, OpenAI>();
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #maxRetries: number;
  readonly #idleTimeoutMs: number;
  readonly #firstTokenTimeoutMs: number;
  readonly #traceTimeoutMs: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #probeTopLogprobs: number;
  readonly #log: (message: string) => void;
  readonly #agents: SocketAgents;

  constructor(options: VllmClientOptions) {
    const invalid = (message: string) => new VllmClientError('config', `VllmClient: ${message}`);
    if (typeof options.model !== 'string' || options.model.trim() === '')
      throw invalid('option "model" must be the served model name');
    // Every option here ends up in a timer or a count; a Node timer beyond 2^31 - 1 ms fires at once (it is clamped).
    const int = (name: string, v: number | undefined, def: number, min: number, max = MAX_TIMER_MS) => {
      if (v === undefined) return def;
      if (!Number.isFinite(v) || v < min || v > max)
        throw invalid(`option "${name}" must be a number in [${min}, ${max}], got ${v}`);
      return v;
    };
    this.model = options.model;
    this.endpointKind = options.endpoint ?? 'chat';
    if (this.endpointKind !== 'chat' && this.endpointKind !== 'completions')
      throw invalid('option "endpoint" must be "chat" or "completions"');
    this.setTopKMode(options.topKMode ?? 'exact');
    this.transport = options.transport ?? 'lean';
    if (this.transport !== 'lean' && this.transport !== 'sdk')
      throw invalid('option "transport" must be "lean" or "sdk"');
    const env = options.env ?? process.env;
    const key = options.apiKey ?? env['VLLM_API_KEY'];
    this.#apiKey = key === undefined || key === '' ? undefined : key;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#maxRetries = Math.floor(int('maxRetries', options.maxRetries, 3, 0));
    this.#idleTimeoutMs = int('idleTimeoutMs', options.idleTimeoutMs, 30_000, 1);
    this.#firstTokenTimeoutMs = int('firstTokenTimeoutMs', options.firstTokenTimeoutMs, 120_000, 1);
    this.#traceTimeoutMs = int('traceTimeoutMs', options.traceTimeoutMs, 600_000, 1);
    this.#retryBaseMs = int('retryBaseMs', options.retryBaseMs, 250, 0);
    this.#retryMaxMs = int('retryMaxMs', options.retryMaxMs, 8_000, 0);
    this.#maxRetryAfterMs = int('maxRetryAfterMs', options.maxRetryAfterMs, 60_000, 0);
    this.#probeTopLogprobs = Math.floor(int('probeTopLogprobs', options.probeTopLogprobs, 21, 1));
    this.#log = options.log ?? (() => undefined);
    this.#agents = createSocketAgents(int('idleSocketMs', options.idleSocketMs, IDLE_SOCKET_MS, 1));
    if (!Array.isArray(options.baseURLs))
      throw invalid('option "baseURLs" must be an array of base URLs, e.g. ["http://127.0.0.1:8000/v1"]');
    try {
      this.#pool = new EndpointPool(options.baseURLs, {
        reprobeAfterMs: int('reprobeAfterMs', options.reprobeAfterMs, 5_000, 0),
        now: this.#now,
        healthCheck: (ep) => this.#healthy(ep),
      });
    } catch (err) {
      throw invalid(err instanceof Error ? err.message : String(err));
    }
  }

  /** How chat traces get their confidence alternatives (see {@link TopKMode}); completions ignore it. */
  get topKMode(): TopKMode {
    return this.#topKMode;
  }

  /**
   * Changes {@link topKMode} for traces started from now on: typically once, after `probe()` told how many
   * `top_logprobs` the servers accept (K+1 → `exact`, K → `chat-view`), so the probed endpoint pool is kept.
   */
  setTopKMode(mode: TopKMode): void {
    if (mode !== 'exact' && mode !== 'chat-view') {
      throw new VllmClientError(
        'config',
        `VllmClient: option "topKMode" must be "exact" or "chat-view", got ${JSON.stringify(mode)}`,
      );
    }
    this.#topKMode = mode;
  }

  /** Load and health of each endpoint, for progress displays. */
  get endpoints(): { baseURL: string; inFlight: number; healthy: boolean }[] {
    return this.#pool.endpoints.map((e) => ({ baseURL: e.baseURL, inFlight: e.inFlight, healthy: e.healthy }));
  }

  /**
   * Checks every endpoint: /health, /v1/models, /version and the largest top_logprobs accepted. Endpoints that fail
   * are taken out of rotation. Throws when none can serve the model, with code `auth` (wrong key), `model_not_found`
   * (the message lists what is served) or `connection` (all down).
   */
  async probe(): Promise<ServerProbe[]> {
    const results = await Promise.all(
      this.#pool.endpoints.map(async (ep) => {
        const outcome = await probeEndpoint({
          ep,
          ctx: this.#ctx(ep),
          fetch: this.#fetch,
          sdk: this.#sdk(ep),
          kind: this.endpointKind,
          probeTopLogprobs: this.#probeTopLogprobs,
          timeoutMs: this.#idleTimeoutMs,
        });
        if (outcome.probe.healthy) this.#pool.markUp(ep);
        else this.#pool.markDown(ep);
        this.#log(
          outcome.probe.healthy
            ? `vLLM ${ep.baseURL}: version ${outcome.probe.version ?? 'unknown'}${outcome.probe.emulated ? ' (emulator)' : ''}, max top_logprobs ${outcome.probe.maxTopLogprobs ?? 'unknown'}`
            : `vLLM ${ep.baseURL} taken out: ${outcome.probe.error}`,
        );
        return outcome;
      }),
    );
    if (results.some((r) => r.probe.healthy)) return results.map((r) => r.probe);
    const failure =
      results.find((r) => r.error?.code === 'auth') ??
      results.find((r) => r.error?.code === 'model_not_found') ??
      results[0];
    if (failure?.error !== undefined && failure.error !== null) throw this.#scrub(failure.error);
    throw new VllmClientError(
      'connection',
      `no usable vLLM endpoint: ${results.map((r) => `${r.probe.baseURL}: ${r.probe.error}`).join('; ')}`,
    );
  }

  /**
   * Polls `probe()` until an endpoint can serve the model: vLLM refuses connections until the model has loaded and
   * answers /health 503 when its engine died, so retryable codes (connection, server, …) mean "not yet". A wrong key
   * or a model that is not served fails at once.
   */
  async waitUntilReady(
    options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
  ): Promise<ServerProbe[]> {
    const deadline = this.#now() + (options.timeoutMs ?? 600_000);
    const interval = options.intervalMs ?? 2_000;
    for (;;) {
      try {
        return await this.probe();
      } catch (err) {
        const transient = isVllmClientError(err) && RETRYABLE_CODES.has(err.code);
        if (!transient || this.#now() + interval > deadline) throw err;
      }
      await this.#sleep(interval, options.signal);
    }
  }

  /**
   * Runs one trace to its end (finished, length, or `early_stopped` by `stopRule` or `onToken`) and returns text, token
   * count and confidences. Retryable failures are retried from the start, before or after the first token.
   */
  async runTrace(request: TraceRequest, hooks: RunHooks = {}): Promise<TraceResult> {
    const onToken = hooks.onToken;
    const hook: TokenHook | null =
      onToken === undefined
        ? null
        : (_d, index, text, logprob, confidence) => onToken({ index, text, logprob, confidence });
    return this.#run(request, {
      hook,
      stopRule: hooks.stopRule ?? null,
      maxRetries: this.#retries(hooks.maxRetries),
      signal: hooks.signal,
      retryAfterTokens: true,
    });
  }

  /**
   * The general-purpose form: one `token` event per token (sorted exact-top-K alternatives, running text) and a final
   * `finish` event. Breaking out of the loop aborts the request. Retries happen only before the first token (tokens
   * already delivered cannot be taken back).
   */
  async *streamTrace(request: TraceRequest, signal?: AbortSignal): AsyncGenerator<TokenEvent, void, undefined> {
    // Tokens are decoded as the bytes arrive and wait here for the consumer; a trace is at most maxTokens long.
    let pending: TokenEvent[] = [];
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const k = request.topLogprobs;
    const mode = this.endpointKind === 'chat' ? this.#topKMode : 'exact';
    const controller = new AbortController();
    const onExternal = () => controller.abort(signal?.reason);
    if (signal?.aborted) onExternal();
    else signal?.addEventListener('abort', onExternal, { once: true });
    let outcome: { result: TraceResult } | { error: unknown } | null = null;
    const hook: TokenHook = (decoder, index, token, logprob, confidence, tops) => {
      pending.push({
        type: 'token',
        index,
        token,
        logprob,
        topLogprobs: sortedTopK(tops, k, mode),
        confidence,
        text: decoder.splitter.text,
        reasoning: decoder.splitter.reasoning,
      });
      notify();
      return false;
    };
    const plan = {
      hook,
      stopRule: null,
      maxRetries: this.#maxRetries,
      signal: controller.signal,
      retryAfterTokens: false,
    };
    const run = this.#run(request, plan).then(
      (result) => {
        outcome = { result };
        notify();
      },
      (error: unknown) => {
        outcome = { error };
        notify();
      },
    );
    try {
      for (;;) {
        if (pending.length > 0) {
          const ready = pending;
          pending = [];
          yield* ready;
          continue;
        }
        // Tokens decoded before a failure are delivered first, then the error.
        const done = outcome as { result: TraceResult } | { error: unknown } | null;
        if (done !== null) {
          if ('error' in done) throw done.error;
          yield finishEvent(done.result);
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal?.removeEventListener('abort', onExternal);
      if (outcome === null) controller.abort(CONSUMER_LEFT);
      await run;
    }
  }

  /** The retry loop (the only one: a runner above passes its budget as `maxRetries`) under the trace's deadline. */
  async #run(request: TraceRequest, plan: RunPlan): Promise<TraceResult> {
    checkTraceRequest(request);
    const topKMode = this.#topKMode;
    const body = buildBody(this.endpointKind, this.model, request, topKMode);
    const headers = this.#headers(request);
    const started = this.#now();
    const deadline = new AbortController();
    const external = plan.signal;
    const onExternal = () => deadline.abort(external?.reason);
    if (external?.aborted) onExternal();
    else external?.addEventListener('abort', onExternal, { once: true });
    const timer = setTimeout(() => deadline.abort(DEADLINE), this.#traceTimeoutMs);
    let avoid: Endpoint | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        if (deadline.signal.aborted) throw deadline.signal.reason;
        const ep = this.#pool.acquire(avoid);
        let err: VllmClientError;
        try {
          const result = await runAttempt({
            request,
            kind: this.endpointKind,
            topKMode,
            endpoint: ep.baseURL,
            ctx: this.#ctx(ep),
            transport: this.#transport(ep, body, headers),
            hook: plan.hook,
            stopRule: plan.stopRule,
            signal: deadline.signal,
            idleTimeoutMs: this.#idleTimeoutMs,
            firstTokenTimeoutMs: this.#firstTokenTimeoutMs,
            traceTimeoutMs: this.#traceTimeoutMs,
            now: this.#now,
            started,
            attempt,
          });
          if (!ep.healthy) this.#pool.markUp(ep);
          return result;
        } catch (caught) {
          // Errors thrown by the caller's onToken, and the caller's abort, are the caller's: pass them through untouched.
          if (!isVllmClientError(caught)) throw caught;
          err = this.#scrub(caught);
        } finally {
          this.#pool.release(ep);
        }
        const retryable = RETRYABLE_CODES.has(err.code) && (plan.retryAfterTokens || err.tokens === 0);
        if (retryable && err.code !== 'rate_limited') {
          this.#pool.markDown(ep);
          this.#log(`vLLM ${ep.baseURL} taken out: ${redact(err.message, this.#apiKey)}`);
        }
        if (!retryable || attempt > plan.maxRetries) throw withAttempts(err, attempt);
        avoid = ep;
        try {
          await this.#sleep(this.#backoff(attempt - 1, err), deadline.signal);
        } catch (reason) {
          if (reason !== DEADLINE) throw reason;
          throw withAttempts(this.#deadlineError(ep, err), attempt);
        }
      }
    } finally {
      clearTimeout(timer);
      external?.removeEventListener('abort', onExternal);
    }
  }

  /** The transport of one attempt, as a function of its context and consumer. */
  #transport(ep: Endpoint, body: Record<string, unknown>, headers: Record<string, string>): Transport {
    if (this.transport === 'sdk')
      return (ctx, consumer) => sdkStream(this.#sdk(ep), this.endpointKind, body, ctx, consumer);
    const url = joinUrl(ep.url, this.endpointKind === 'chat' ? 'chat/completions' : 'completions');
    return (ctx, consumer) => nodeHttpStream(url, headers, body, ctx, { agents: this.#agents }, consumer);
  }

  #deadlineError(ep: Endpoint, last: VllmClientError): VllmClientError {
    const s = Number((this.#traceTimeoutMs / 1000).toFixed(3));
    const err = new VllmClientError(
      'trace_timeout',
      `trace timeout after ${s} s, waiting to retry (last error: ${last.message})`,
      {
        endpoint: ep.baseURL,
      },
    );
    err.tokens = 0;
    return err;
  }

  #retries(value: number | undefined): number {
    if (value === undefined) return this.#maxRetries;
    if (!Number.isSafeInteger(value) || value < 0)
      throw new VllmClientError('config', `RunHooks.maxRetries must be an integer ≥ 0, got ${value}`);
    return value;
  }

  #backoff(attempt: number, err: VllmClientError): number {
    if (err.retryAfterMs !== null) return Math.min(err.retryAfterMs, this.#maxRetryAfterMs);
    const exp = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** attempt);
    return exp * (0.5 + 0.5 * this.#random());
  }

  #headers(request: TraceRequest): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (this.#apiKey !== undefined) headers['authorization'] = `Bearer ${this.#apiKey}`;
    if (request.sessionId !== undefined) headers['x-session-id'] = request.sessionId;
    return headers;
  }

  #ctx(ep: Endpoint): ErrorContext {
    return { endpoint: ep.baseURL, model: this.model, apiKey: this.#apiKey, now: this.#now };
  }

  #sdk(ep: Endpoint): OpenAI {
    let sdk = this.#sdks.get(ep.url);
    if (sdk === undefined) {
      sdk = new OpenAI({
        ...sdkBase(ep.url),
        // The SDK insists on a key; vLLM without --api-key ignores the header.
        apiKey: this.#apiKey ?? 'EMPTY',
        fetch: flatErrorBodyFetch(this.#fetch),
        maxRetries: this.#maxRetries,
        // The wait for headers is the attempt's first-token watchdog's (probe calls carry their own deadline), so the
        // SDK's own timer is only a backstop that never fires first.
        timeout: this.#traceTimeoutMs,
        logLevel: 'off',
      });
      this.#sdks.set(ep.url, sdk);
    }
    return sdk;
  }

  async #healthy(ep: Endpoint): Promise<boolean> {
    try {
      const res = await this.#fetch(joinUrl(ep.root, 'health'), {
        signal: AbortSignal.timeout(Math.min(this.#idleTimeoutMs, 10_000)),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Last line of defence: a server may echo the Authorization header into an error message. */
  #scrub<E extends Error>(err: E): E {
    if (this.#apiKey !== undefined && err.message.includes(this.#apiKey))
      err.message = redact(err.message, this.#apiKey);
    return err;
  }
}

/** "(3 attempts)" on the message of a trace's final error, and the count as data. */
function withAttempts(err: VllmClientError, attempts: number): VllmClientError {
  err.attempts = attempts;
  if (attempts > 1) err.message = `${err.message} (${attempts} attempts)`;
  return err;
}

function finishEvent(r: TraceResult): TokenEvent {
  return {
    type: 'finish',
    stopReason: r.stopReason,
    serverFinishReason: r.serverFinishReason,
    serverStopReason: r.serverStopReason,
    tokens: r.tokens,
    text: r.text,
    reasoning: r.reasoning,
    usage: r.usage,
    endpoint: r.endpoint,
  };
}
