import type { StopReason } from '@deepconf-safety/confidence';

/** `chat`: /v1/chat/completions; `completions`: legacy /v1/completions with a raw prompt. */
export type EndpointKind = 'chat' | 'completions';

/** One generation = one trace = one n=1 request. */
export type TraceRequest = {
  /** User message (chat) or the raw prompt (completions). */
  prompt: string;
  /** System message (chat); prepended with a blank line on the completions endpoint. */
  system?: string;
  /** Sent as `max_tokens` and `max_completion_tokens`. */
  maxTokens: number;
  temperature: number;
  topP: number;
  /** -1 or 0 disables top-k (vLLM); still sent, because Qwen's generation_config would otherwise apply 20. */
  topK: number;
  /** null = unseeded (sent as null, so the server cannot fill one in). */
  seed: number | null;
  /**
   * K of the confidence (DeepConf uses 20). Chat requests K+1 alternatives so the exact-top-K rule can be applied
   * (the server needs `--max-logprobs` ≥ K+1), or K with the client's `topKMode: 'chat-view'`; completions requests K
   * and gets K or K+1 entries.
   */
  topLogprobs: number;
  /** Qwen3 thinking, sent as `chat_template_kwargs.enable_thinking`. */
  thinking: boolean;
  /** Sent as `X-Session-Id` so a session-aware router can keep a session on one replica. */
  sessionId?: string;
};

/** What `runTrace` passes to `onToken`, once per generated token (reasoning and answer alike). */
export type TokenInfo = {
  /** 0-based position in the trace. */
  index: number;
  /** The token as vLLM decoded it on its own; display text only (see vllm-protocol.md §1.3). */
  text: string;
  /** Logprob of the sampled token (−9999 = −inf or no data). */
  logprob: number;
  /** tokenConfidence of the exact-top-K set; NaN when vLLM had no logprob data for the position. */
  confidence: number;
};

export type TopLogprob = { token: string; logprob: number };

/**
 * How the chat endpoint gets the alternatives a token's confidence is computed from.
 * - `exact`: request K+1 `top_logprobs` and rebuild DeepConf's reference set exactly (needs `--max-logprobs` ≥ K+1).
 * - `chat-view`: request K and average the K returned values (the sampled token first, then the top ones). This equals
 *   the reference set whenever the sampled token ranks within the top K; otherwise it holds the sampled token and the
 *   top K−1 instead of the top K and the sampled token (case G2 of shared/docs/deepconf.md). Works with stock vLLM's
 *   default `--max-logprobs 20` at K = 20.
 * The completions endpoint always returns the reference set itself and ignores this.
 */
export type TopKMode = 'exact' | 'chat-view';

/**
 * Why a trace ended: the one name from the server's finish to the run store (the store's `stopReason`, the policy's
 * `StopReason`). `finished`: the server finished it (EOS, a stop string or token id; vLLM's `stop`, `repetition`, …).
 * `length`: max_tokens (counted by the client too, whatever the server does). `early_stopped`: the client stopped it
 * (the stop rule or `onToken`). `error`: no usable result (the client throws then; the store records it).
 */
export type { StopReason };

/**
 * DeepConf's stop rule in data: stop after the token at which the mean confidence of the last `window` scored tokens
 * (positions without logprob data skipped) first falls below `threshold`; null never stops.
 */
export type StopRule = { window: number; threshold: number | null };

/** Events of `streamTrace`. */
export type TokenEvent =
  | {
      type: 'token';
      index: number;
      token: string;
      logprob: number;
      /**
       * The alternatives the confidence averages, sorted by logprob, descending: the exact-top-K set (K or K+1 entries),
       * or in `chat-view` mode the K received.
       */
      topLogprobs: TopLogprob[];
      confidence: number;
      /** Answer text so far (thinking removed). Text may lag behind tokens: vLLM holds back text near stop strings. */
      text: string;
      /** Thinking text so far, or null when none has been seen. */
      reasoning: string | null;
    }
  | {
      type: 'finish';
      stopReason: StopReason;
      /** vLLM's raw `finish_reason` (e.g. `repetition`), or null when the stream ended without one. */
      serverFinishReason: string | null;
      /** vLLM's `stop_reason`: a stop token id, a stop string, or null. */
      serverStopReason: number | string | null;
      tokens: number;
      text: string;
      reasoning: string | null;
      usage: Usage | null;
      endpoint: string;
    };

export type Usage = { promptTokens: number; completionTokens: number; totalTokens: number };

export type TraceResult = {
  /**
   * Answer text, with any `<think>` section removed. A trace the client stopped (early stop, or a stream past
   * max_tokens) keeps the text of its tokens up to the stop, not the rest of the chunk that carried it, so the text
   * does not depend on how many tokens a chunk carried (timing); only text that does not line up with its chunk's
   * token strings (held back by the server) is kept as it arrived.
   */
  text: string;
  /** Thinking text (server-split or inline `<think>`), or null. */
  reasoning: string | null;
  /** Tokens received (counted client-side; an aborted stream sends no usage). */
  tokens: number;
  /** Per-token confidences in order; positions without logprob data are left out, as the reference implementation does. */
  confidences: Float64Array;
  /** Why it ended (never `error`: a failed trace throws). */
  stopReason: StopReason;
  /** Index of the token at which the stop rule or `onToken` stopped the trace (`early_stopped`), else null. */
  stoppedAt: number | null;
  endpoint: string;
  latencyMs: number;
  ttftMs: number | null;
  /** vLLM's raw `finish_reason`, or null (an early stop, or the client cut a stream that overran max_tokens). */
  serverFinishReason: string | null;
  /** vLLM's `stop_reason`: a stop token id, a stop string, or null. */
  serverStopReason: number | string | null;
  usage: Usage | null;
  /** Requests made for this trace (1 = no retry); failed traces carry it on the error (`VllmClientError.attempts`). */
  attempts: number;
};

export type ServerProbe = {
  baseURL: string;
  healthy: boolean;
  models: string[];
  version: string | null;
  /** True when /version or the model card says the server is an emulator. */
  emulated: boolean;
  /** Largest `top_logprobs` the server accepts: exact when it refused the probe value, else the probe value (a lower bound). */
  maxTopLogprobs: number | null;
  /** `max_model_len` of the served model card, when given. */
  maxModelLen: number | null;
  /** `root` of the served model card (vLLM: the model path or hub id it loaded), when given. */
  modelRoot?: string | null;
  /** Why the endpoint is unhealthy, or null. */
  error: string | null;
};
