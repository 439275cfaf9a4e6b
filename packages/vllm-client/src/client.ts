import OpenAI from 'openai';
import { sortedTopK, TraceDecoder, type EndpointKind, type FeedResult } from './decoder.js';
import { EndpointPool, type Endpoint } from './endpoint-pool.js';
import {
  AuthenticationError,
  ConnectionError,
  ModelNotFoundError,
  ServerError,
  StreamInterruptedError,
  TimeoutError,
  VllmClientError,
  isVllmClientError,
  redact,
} from './errors.js';
import { errorFromStatus, type ErrorContext } from './http-errors.js';
import { probeEndpoint } from './probe.js';
import { buildBody, checkTraceRequest } from './request-body.js';
import { createSocketAgents, IDLE_SOCKET_MS, nodeHttpStream, type SocketAgents } from './node-http.js';
import { fetchStream, sdkStream, type StreamConsumer } from './transports.js';
import type { Alternatives } from './chunk-scanner.js';
import type { FinishReason, ServerProbe, TokenEvent, TokenInfo, TopKMode, TraceRequest, TraceResult } from './types.js';

export type VllmClientOptions = {
  /** vLLM OpenAI base URLs, e.g. `http://127.0.0.1:8000/v1`. A router (vLLM production-stack) is just one more URL. */
  baseURLs: readonly string[];
  /** Bearer key (vLLM's `--api-key`); defaults to `env.VLLM_API_KEY`. Never logged or put in an error. */
  apiKey?: string;
  /** Served model name (`--served-model-name`). */
  model: string;
  /** `chat` (default): /v1/chat/completions. `completions`: legacy /v1/completions with a raw prompt. */
  endpoint?: EndpointKind;
  /** Retries before the first token (connection errors, timeouts, 429, 5xx). Default 3; 0 = no retry. */
  maxRetries?: number;
  /**
   * Longest silence tolerated: waiting for response headers, and between two stream reads (a request queued inside
   * vLLM behind --max-num-seqs is silent until scheduled). Default 300 000 ms.
   */
  timeoutMs?: number;
  /**
   * How streams are read. `lean`: node:http, a byte-level SSE splitter and JSON.parse (default; fastest measured).
   * `lean-fetch`: the same parsing over `fetch` (default when `fetch` is injected). `sdk`: the openai SDK's stream.
   */
  transport?: 'lean' | 'lean-fetch' | 'sdk';
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
  /** Injected I/O, for tests. */
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
  /** Cancels the trace; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
};

type TokenHook = (decoder: TraceDecoder, index: number, token: string, logprob: number, confidence: number, tops: Alternatives) => boolean;

const STOP = Symbol('stop');
const TIMEOUT = Symbol('timeout');
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

/** Fires when nothing happened for `ms`; `touch()` is one clock read, cheap enough for every network read. */
class Watchdog {
  #last = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {
    this.#arm(ms);
  }
  touch(): void {
    this.#last = performance.now();
  }
  stop(): void {
    clearTimeout(this.#timer);
  }
  #arm(delay: number): void {
    this.#timer = setTimeout(() => {
      const idle = performance.now() - this.#last;
      if (idle >= this.ms) this.onFire();
      else this.#arm(this.ms - idle);
    }, delay);
  }
}

function mapFinish(reason: string | null): FinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'abort') return 'aborted';
  if (reason === 'error') return 'error';
  return 'stop';
}

/** Streaming client for vLLM's OpenAI-compatible server: one n=1 request per trace, per-token confidences, early abort. */
export class VllmClient {
  readonly model: string;
  readonly endpointKind: EndpointKind;
  readonly transport: 'lean' | 'lean-fetch' | 'sdk';
  #topKMode: TopKMode = 'exact';
  readonly #apiKey: string | undefined;
  readonly #pool: EndpointPool;
  readonly #sdks = new Map<string, OpenAI>();
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #maxRetries: number;
  readonly #timeoutMs: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #probeTopLogprobs: number;
  readonly #log: (message: string) => void;
  readonly #agents: SocketAgents;

  constructor(options: VllmClientOptions) {
    if (typeof options.model !== 'string' || options.model.trim() === '') throw new VllmClientError('VllmClient: option "model" must be the served model name');
    const int = (name: string, v: number | undefined, def: number, min: number) => {
      if (v === undefined) return def;
      if (!Number.isFinite(v) || v < min) throw new VllmClientError(`VllmClient: option "${name}" must be a number ≥ ${min}, got ${v}`);
      return v;
    };
    this.model = options.model;
    this.endpointKind = options.endpoint ?? 'chat';
    if (this.endpointKind !== 'chat' && this.endpointKind !== 'completions') throw new VllmClientError(`VllmClient: option "endpoint" must be "chat" or "completions"`);
    this.setTopKMode(options.topKMode ?? 'exact');
    this.transport = options.transport ?? (options.fetch === undefined ? 'lean' : 'lean-fetch');
    if (!['lean', 'lean-fetch', 'sdk'].includes(this.transport)) throw new VllmClientError(`VllmClient: option "transport" must be "lean", "lean-fetch" or "sdk"`);
    const env = options.env ?? process.env;
    const key = options.apiKey ?? env['VLLM_API_KEY'];
    this.#apiKey = key === undefined || key === '' ? undefined : key;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#maxRetries = Math.floor(int('maxRetries', options.maxRetries, 3, 0));
    this.#timeoutMs = int('timeoutMs', options.timeoutMs, 300_000, 1);
    this.#retryBaseMs = int('retryBaseMs', options.retryBaseMs, 250, 0);
    this.#retryMaxMs = int('retryMaxMs', options.retryMaxMs, 8_000, 0);
    this.#maxRetryAfterMs = int('maxRetryAfterMs', options.maxRetryAfterMs, 60_000, 0);
    this.#probeTopLogprobs = Math.floor(int('probeTopLogprobs', options.probeTopLogprobs, 21, 1));
    this.#log = options.log ?? (() => undefined);
    this.#agents = createSocketAgents(int('idleSocketMs', options.idleSocketMs, IDLE_SOCKET_MS, 1));
    if (!Array.isArray(options.baseURLs)) throw new VllmClientError('VllmClient: option "baseURLs" must be an array of base URLs, e.g. ["http://127.0.0.1:8000/v1"]');
    try {
      this.#pool = new EndpointPool(options.baseURLs, {
        reprobeAfterMs: int('reprobeAfterMs', options.reprobeAfterMs, 5_000, 0),
        now: this.#now,
        healthCheck: (ep) => this.#healthy(ep),
      });
    } catch (err) {
      throw new VllmClientError(`VllmClient: ${err instanceof Error ? err.message : String(err)}`);
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
    if (mode !== 'exact' && mode !== 'chat-view') throw new VllmClientError(`VllmClient: option "topKMode" must be "exact" or "chat-view", got ${JSON.stringify(mode)}`);
    this.#topKMode = mode;
  }

  /** Load and health of each endpoint, for progress displays. */
  get endpoints(): { baseURL: string; inFlight: number; healthy: boolean }[] {
    return this.#pool.endpoints.map((e) => ({ baseURL: e.baseURL, inFlight: e.inFlight, healthy: e.healthy }));
  }

  /**
   * Checks every endpoint: /health, /v1/models, /version and the largest top_logprobs accepted. Endpoints that fail
   * are taken out of rotation. Throws when none can serve the model: AuthenticationError (wrong key),
   * ModelNotFoundError (model not served; the message lists what is), ConnectionError (all down).
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
          timeoutMs: this.#timeoutMs,
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
      results.find((r) => r.error instanceof AuthenticationError) ?? results.find((r) => r.error instanceof ModelNotFoundError) ?? results[0];
    if (failure?.error !== undefined && failure.error !== null) throw this.#scrub(failure.error);
    throw new ConnectionError(`no usable vLLM endpoint: ${results.map((r) => `${r.probe.baseURL}: ${r.probe.error}`).join('; ')}`);
  }

  /**
   * Polls `probe()` until an endpoint can serve the model: vLLM refuses connections until the model has loaded and
   * answers /health 503 when its engine died, so ConnectionError and ServerError mean "not yet". A wrong key or a model
   * that is not served fails at once.
   */
  async waitUntilReady(options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {}): Promise<ServerProbe[]> {
    const deadline = this.#now() + (options.timeoutMs ?? 600_000);
    const interval = options.intervalMs ?? 2_000;
    for (;;) {
      try {
        return await this.probe();
      } catch (err) {
        const transient = err instanceof ConnectionError || err instanceof ServerError || err instanceof TimeoutError;
        if (!transient || this.#now() + interval > deadline) throw err;
      }
      await this.#sleep(interval, options.signal);
    }
  }

  /** Runs one trace to the end (or until `onToken` returns true) and returns text, token count and confidences. */
  async runTrace(request: TraceRequest, hooks: RunHooks = {}): Promise<TraceResult> {
    const onToken = hooks.onToken;
    const hook: TokenHook | null =
      onToken === undefined ? null : (_d, index, text, logprob, confidence) => onToken({ index, text, logprob, confidence });
    return this.#run(request, hook, hooks.signal);
  }

  /**
   * The general-purpose form: one `token` event per token (sorted exact-top-K alternatives, running text) and a final
   * `finish` event. Breaking out of the loop aborts the request.
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
    const run = this.#run(
      request,
      (decoder, index, token, logprob, confidence, tops) => {
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
      },
      controller.signal,
    ).then(
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
          const r = done.result;
          yield {
            type: 'finish',
            finishReason: r.finishReason,
            serverFinishReason: r.serverFinishReason,
            stopReason: r.stopReason,
            tokens: r.tokens,
            text: r.text,
            reasoning: r.reasoning,
            usage: r.usage,
            endpoint: r.endpoint,
          };
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

  async #run(request: TraceRequest, hook: TokenHook | null, external: AbortSignal | undefined): Promise<TraceResult> {
    checkTraceRequest(request);
    const topKMode = this.#topKMode;
    const body = buildBody(this.endpointKind, this.model, request, topKMode);
    const started = this.#now();
    let avoid: Endpoint | undefined;
    for (let attempt = 0; ; attempt++) {
      if (external?.aborted) throw external.reason;
      const ep = this.#pool.acquire(avoid);
      const controller = new AbortController();
      const onExternal = () => controller.abort(external?.reason);
      external?.addEventListener('abort', onExternal, { once: true });
      const watchdog = new Watchdog(this.#timeoutMs, () => controller.abort(TIMEOUT));
      let ttftMs: number | null = null;
      let stopped = false;
      let completed = false;
      let released = false;
      const decoder: TraceDecoder = new TraceDecoder({
        kind: this.endpointKind,
        k: request.topLogprobs,
        topKMode,
        thinking: request.thinking,
        sink: (index, token, logprob, confidence, tops) => {
          if (index === 0) ttftMs = this.#now() - started;
          if (hook !== null && hook(decoder, index, token, logprob, confidence, tops)) {
            stopped = true;
            return true;
          }
          return false;
        },
      });
      const ctx = { ...this.#ctx(ep), signal: controller.signal };
      const url = `${ep.baseURL}${this.endpointKind === 'chat' ? '/chat/completions' : '/completions'}`;
      /** True when the decoder stopped the trace; an in-band error event becomes the error it names. */
      const stops = (r: FeedResult): boolean => {
        if (r === 'error') throw errorFromStatus(null, decoder.inBandError, undefined, ctx);
        return r === 'stop';
      };
      const consumer: StreamConsumer = {
        read: () => watchdog.touch(),
        payload: (p) => stops(decoder.feedPayload(p)),
        chunk: (c) => stops(decoder.feed(c)),
      };
      const headers = this.#headers(request);
      const result = (finishReason: FinishReason): TraceResult => {
        const { text, reasoning } = decoder.splitter.finish(finishReason !== 'stop');
        return {
          text,
          reasoning,
          tokens: stopped && decoder.stoppedAt !== null ? decoder.stoppedAt + 1 : decoder.tokens,
          confidences: decoder.confidences,
          finishReason,
          stoppedAt: stopped ? decoder.stoppedAt : null,
          endpoint: ep.baseURL,
          latencyMs: this.#now() - started,
          ttftMs,
          serverFinishReason: decoder.serverFinishReason,
          stopReason: decoder.stopReason,
          usage: decoder.usage,
          attempts: attempt + 1,
        };
      };
      try {
        if (this.transport === 'sdk') await sdkStream(this.#sdk(ep), this.endpointKind, body, ctx, consumer);
        else if (this.transport === 'lean') await nodeHttpStream(url, headers, body, ctx, { agents: this.#agents }, consumer);
        else await fetchStream(this.#fetch, url, headers, body, ctx, consumer);
        // The transport has dropped the response already; the abort covers any part still in flight.
        if (stopped) controller.abort(STOP);
        if (!stopped && decoder.serverFinishReason === null) {
          throw new ConnectionError(`stream from vLLM at ${ep.baseURL} ended without a finish_reason`, { endpoint: ep.baseURL });
        }
        completed = true;
        if (!ep.healthy) this.#pool.markUp(ep);
        return result(stopped ? 'aborted' : mapFinish(decoder.serverFinishReason));
      } catch (caught) {
        controller.abort(STOP);
        if (external?.aborted && caught === external.reason) throw caught;
        let err: unknown = caught;
        if (caught === TIMEOUT) {
          err = new TimeoutError(`vLLM at ${ep.baseURL} sent nothing for ${this.#timeoutMs} ms`, { endpoint: ep.baseURL });
        }
        // Errors thrown by the caller's onToken are the caller's: pass them through untouched.
        if (!isVllmClientError(err)) throw err;
        if (decoder.tokens > 0) {
          throw this.#scrub(
            new StreamInterruptedError(`trace interrupted after ${decoder.tokens} tokens: ${err.message}`, result('error'), {
              endpoint: ep.baseURL,
              status: err.status,
              cause: err,
            }),
          );
        }
        const retryable = err instanceof ConnectionError || err instanceof TimeoutError || err instanceof ServerError;
        if (retryable && err.status !== 429) {
          this.#pool.markDown(ep);
          this.#log(`vLLM ${ep.baseURL} taken out: ${redact(err.message, this.#apiKey)}`);
        }
        if (!retryable || attempt >= this.#maxRetries) throw this.#scrub(err);
        const wait = this.#backoff(attempt, err);
        avoid = ep;
        // Free the endpoint's slot while waiting; the next attempt acquires again.
        this.#pool.release(ep);
        released = true;
        watchdog.stop();
        await this.#sleep(wait, external);
        continue;
      } finally {
        watchdog.stop();
        external?.removeEventListener('abort', onExternal);
        if (!completed) controller.abort(STOP);
        if (!released) this.#pool.release(ep);
      }
    }
  }

  #backoff(attempt: number, err: VllmClientError): number {
    if (err instanceof ServerError && err.retryAfterMs !== null) return Math.min(err.retryAfterMs, this.#maxRetryAfterMs);
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
    let sdk = this.#sdks.get(ep.baseURL);
    if (sdk === undefined) {
      sdk = new OpenAI({
        baseURL: ep.baseURL,
        // The SDK insists on a key; vLLM without --api-key ignores the header.
        apiKey: this.#apiKey ?? 'EMPTY',
        fetch: this.#fetch,
        maxRetries: this.#maxRetries,
        timeout: this.#timeoutMs,
        logLevel: 'off',
      });
      this.#sdks.set(ep.baseURL, sdk);
    }
    return sdk;
  }

  async #healthy(ep: Endpoint): Promise<boolean> {
    try {
      const res = await this.#fetch(`${ep.root}/health`, { signal: AbortSignal.timeout(Math.min(this.#timeoutMs, 10_000)) });
      await res.body?.cancel().catch(() => undefined);
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Last line of defence: a server may echo the Authorization header into an error message. */
  #scrub<E extends Error>(err: E): E {
    if (this.#apiKey !== undefined && err.message.includes(this.#apiKey)) err.message = redact(err.message, this.#apiKey);
    return err;
  }
}
