import { StopMonitor } from '@deepconf-safety/confidence';
import { TraceDecoder, type FeedResult } from './internal/decoder.js';
import type { Alternatives } from './internal/chunk-scanner.js';
import { VllmClientError, isVllmClientError } from './errors.js';
import { errorFromStatus, hostOf, type ErrorContext } from './http-errors.js';
import type { StreamConsumer } from './transports.js';
import type { StopReason, StopRule, TopKMode, TraceRequest, TraceResult } from './types.js';

/** Called per token with the decoder (for streamTrace's running text); true stops the trace at this token. */
export type TokenHook = (
  decoder: TraceDecoder,
  index: number,
  token: string,
  logprob: number,
  confidence: number,
  tops: Alternatives,
) => boolean;

/** Why the client aborted an attempt itself: idle timer, first-token wait, trace deadline, or a finished stop. */
export const IDLE = Symbol('idle');
export const FIRST_TOKEN = Symbol('first token');
export const DEADLINE = Symbol('deadline');
const STOP = Symbol('stop');

/** Reads the attempt's stream with one of the transports. */
export type Transport = (ctx: ErrorContext & { signal: AbortSignal }, consumer: StreamConsumer) => Promise<void>;

export type AttemptArgs = {
  request: TraceRequest;
  kind: 'chat' | 'completions';
  topKMode: TopKMode;
  endpoint: string;
  ctx: ErrorContext;
  transport: Transport;
  hook: TokenHook | null;
  stopRule: StopRule | null;
  /** Aborts the attempt: the caller's signal, the trace deadline (reason DEADLINE). */
  signal: AbortSignal;
  idleTimeoutMs: number;
  /** Longest wait for the attempt's first token, from the request on (headers included). */
  firstTokenTimeoutMs: number;
  traceTimeoutMs: number;
  now: () => number;
  /** When the trace (its first attempt) started, for latency and the deadline message. */
  started: number;
  attempt: number;
};

/**
 * Ends an attempt that waits too long. Until the first token: `firstTokenMs` from the attempt's start, whatever
 * arrives meanwhile (headers, a role chunk, SSE comments are no progress): vLLM is silent while a request waits behind
 * --max-num-seqs, so this bound is larger than the idle one. From the first token on: nothing arrived for `idleMs`;
 * `touch()` is one clock read per network read, and no timer is set per read.
 */
class Watchdog {
  readonly #created = performance.now();
  #last = this.#created;
  #flowing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private readonly idleMs: number,
    private readonly firstTokenMs: number,
    private readonly onFire: (why: typeof IDLE | typeof FIRST_TOKEN) => void,
  ) {
    this.#arm(firstTokenMs);
  }
  touch(): void {
    this.#last = performance.now();
  }
  /** At the first token: from now on, silence counts. */
  start(): void {
    this.#last = performance.now();
    this.#flowing = true;
    clearTimeout(this.#timer);
    this.#arm(this.idleMs);
  }
  stop(): void {
    clearTimeout(this.#timer);
  }
  #arm(delay: number): void {
    // Timers may fire a little early: the clock decides, and a timer that came early is set again for the rest.
    this.#timer = setTimeout(() => {
      const now = performance.now();
      const [waited, limit] = this.#flowing
        ? [now - this.#last, this.idleMs]
        : [now - this.#created, this.firstTokenMs];
      if (waited >= limit) this.onFire(this.#flowing ? IDLE : FIRST_TOKEN);
      else this.#arm(Math.max(1, limit - waited));
    }, delay);
  }
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

/**
 * One request of a trace: streams it, applies the stop rule and `maxTokens` per token, and returns the result, or
 * throws a VllmClientError naming what went wrong (the caller decides on retries), the caller's abort reason, or
 * whatever the caller's hook threw.
 */
export async function runAttempt(a: AttemptArgs): Promise<TraceResult> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(a.signal.reason);
  if (a.signal.aborted) onAbort();
  else a.signal.addEventListener('abort', onAbort, { once: true });
  const watchdog = new Watchdog(a.idleTimeoutMs, a.firstTokenTimeoutMs, (why) => controller.abort(why));
  let ttftMs: number | null = null;
  let stopped = false;
  const rule = a.stopRule;
  const monitor = rule !== null && rule.threshold !== null ? new StopMonitor(rule.window, rule.threshold) : null;
  const hook = a.hook;
  const decoder: TraceDecoder = new TraceDecoder({
    kind: a.kind,
    k: a.request.topLogprobs,
    topKMode: a.topKMode,
    thinking: a.request.thinking,
    maxTokens: a.request.maxTokens,
    sink: (index, token, logprob, confidence, tops) => {
      if (index === 0) {
        ttftMs = a.now() - a.started;
        watchdog.start();
      }
      // Positions without logprob data (NaN) are skipped by the stop rule, as the reference implementation does.
      if (
        (hook !== null && hook(decoder, index, token, logprob, confidence, tops)) ||
        // biome-ignore lint/suspicious/noSelfCompare: the hot path's NaN check, without a call per token
        (monitor !== null && confidence === confidence && monitor.push(confidence))
      ) {
        stopped = true;
        return true;
      }
      return false;
    },
  });
  const ctx = { ...a.ctx, signal: controller.signal };
  /** True when the decoder stopped the trace; an in-band error event becomes the error it names. */
  const stops = (r: FeedResult): boolean => {
    if (r === 'error') throw errorFromStatus(null, decoder.inBandError, undefined, ctx);
    return r === 'stop';
  };
  let accepted = false;
  const consumer: StreamConsumer = {
    accepted: () => {
      accepted = true;
    },
    read: () => watchdog.touch(),
    payload: (p) => stops(decoder.feedPayload(p)),
    chunk: (c) => stops(decoder.feed(c)),
  };
  const result = (stopReason: StopReason): TraceResult => {
    const { text, reasoning } = decoder.splitter.finish(stopReason !== 'finished');
    return {
      text,
      reasoning,
      tokens: decoder.tokens,
      confidences: decoder.confidences,
      stopReason,
      stoppedAt: stopped ? decoder.stoppedAt : null,
      endpoint: a.endpoint,
      latencyMs: a.now() - a.started,
      ttftMs,
      serverFinishReason: decoder.serverFinishReason,
      serverStopReason: decoder.stopReason,
      usage: decoder.usage,
      attempts: a.attempt,
    };
  };
  try {
    try {
      await a.transport(ctx, consumer);
      // A transport may end quietly when aborted (the SDK's stream does): the abort's reason is the outcome.
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (caught) {
      // The finish chunk was read: the trace is complete, however the connection ended (the same on every transport).
      if (!(isVllmClientError(caught) && caught.code === 'connection' && decoder.serverFinishReason !== null))
        throw caught;
    }
    return result(ending(decoder, stopped, a.endpoint));
  } catch (caught) {
    throw named(caught, a, decoder.tokens, accepted);
  } finally {
    watchdog.stop();
    a.signal.removeEventListener('abort', onAbort);
    // Whatever part of the request is still in flight is dropped (the transport has dropped the response already).
    controller.abort(STOP);
  }
}

/** Why the stream ended, once it ended without an error; a server-side failure becomes an error. */
function ending(decoder: TraceDecoder, stopped: boolean, endpoint: string): StopReason {
  if (stopped) return 'early_stopped';
  // More tokens than max_tokens: the client counted them and cut the stream there, as a 'length' finish.
  if (decoder.overran) return 'length';
  const host = hostOf(endpoint);
  const reason = decoder.serverFinishReason;
  if (reason === null) {
    throw new VllmClientError(
      'connection',
      `the stream from ${host} ended after ${decoder.tokens} tokens without a finish_reason`,
      { endpoint },
    );
  }
  if (reason === 'length') return 'length';
  if (reason === 'abort' || reason === 'error') {
    throw new VllmClientError(
      'server',
      `vLLM at ${endpoint} ended the trace with finish_reason "${reason}" after ${decoder.tokens} tokens`,
      { endpoint },
    );
  }
  return 'finished';
}

/** The client's own aborts as the errors they stand for; errors that are not ours (the hook's, the caller's abort) pass. */
function named(caught: unknown, a: AttemptArgs, tokens: number, accepted: boolean): unknown {
  let err = caught;
  const where = `vLLM at ${a.endpoint}`;
  if (caught === IDLE) {
    err = new VllmClientError(
      'idle_timeout',
      `timeout after ${seconds(a.idleTimeoutMs)} idle: ${where} sent nothing after ${tokens} tokens`,
      {
        endpoint: a.endpoint,
      },
    );
  } else if (caught === FIRST_TOKEN) {
    err = new VllmClientError(
      'first_token_timeout',
      `no first token after ${seconds(a.firstTokenTimeoutMs)}: ${where} ${silentPhase(accepted)}`,
      { endpoint: a.endpoint },
    );
  } else if (caught === DEADLINE) {
    const phase = tokens > 0 ? `had sent ${tokens} tokens` : silentPhase(accepted);
    err = new VllmClientError('trace_timeout', `trace timeout after ${seconds(a.traceTimeoutMs)}: ${where} ${phase}`, {
      endpoint: a.endpoint,
    });
  }
  if (isVllmClientError(err)) {
    err.tokens = tokens;
    err.attempts = a.attempt;
  }
  return err;
}

/** What a server that sent no token had done by then. */
function silentPhase(accepted: boolean): string {
  return accepted
    ? 'accepted the request but sent no token (queued behind --max-num-seqs, or stalled)'
    : 'sent no response headers';
}
