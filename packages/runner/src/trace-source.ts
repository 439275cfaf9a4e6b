import type { TokenInfo, TraceRequest, TraceResult as ClientTraceResult } from '@deepconf-safety/vllm-client';

export type { TokenInfo, TraceRequest };

/**
 * What the runner needs of a finished trace: the client's result without its diagnostics (usage, server finish
 * reason, attempts), so unit tests can script traces with no HTTP.
 */
export type TraceResult = Pick<
  ClientTraceResult,
  'text' | 'reasoning' | 'tokens' | 'confidences' | 'finishReason' | 'stoppedAt' | 'endpoint' | 'latencyMs' | 'ttftMs'
>;

/**
 * The runner's stop rule in data: stop after the token at which the mean confidence of the last `window` scored
 * tokens (positions without logprob data skipped) first falls below `threshold`; null never stops.
 */
export type StopRule = { window: number; threshold: number | null };

export interface TraceHooks {
  /** Called for every generated token; returning true aborts the request now. */
  onToken?(token: TokenInfo): boolean;
  /**
   * The rule `onToken` applies, for sources that cannot call back per token (one running traces on other threads):
   * such a source applies it itself, does not call `onToken`, and reports the stop in `stoppedAt` with the
   * confidences up to it.
   */
  stopRule?: StopRule;
  /** Cancels the trace at once (Ctrl+C); the promise then rejects. */
  signal?: AbortSignal;
}

/** What the runner needs from a model server. `VllmClient` satisfies it; unit tests script it. */
export interface TraceSource {
  runTrace(request: TraceRequest, hooks?: TraceHooks): Promise<TraceResult>;
}
