import type { StopRule, TokenInfo, TraceRequest, TraceResult as ClientTraceResult } from '@deepconf-safety/vllm-client';

export type { StopRule, TokenInfo, TraceRequest };

/**
 * What the runner needs of a finished trace: the client's result without its diagnostics (usage, server finish
 * reason), so unit tests can script traces with no HTTP. `stopReason` is the run store's, as the client names it.
 */
export type TraceResult = Pick<
  ClientTraceResult,
  | 'text'
  | 'reasoning'
  | 'tokens'
  | 'confidences'
  | 'stopReason'
  | 'stoppedAt'
  | 'endpoint'
  | 'latencyMs'
  | 'ttftMs'
  | 'attempts'
>;

export interface TraceHooks {
  /**
   * DeepConf's stop rule, applied by the source per token (the one stop path: the client, in this thread or in a
   * trace thread); the result says where it stopped (`early_stopped`, `stoppedAt`) with the confidences up to there.
   */
  stopRule?: StopRule;
  /**
   * Retries of this trace: at most maxRetries + 1 requests reach a server. The source owns the retry loop (only
   * errors a new request may cure are retried); a failed trace's error carries `attempts` (VllmClientError).
   */
  maxRetries?: number;
  /** Cancels the trace at once (Ctrl+C); the promise then rejects. */
  signal?: AbortSignal;
}

/** What the runner needs from a model server. `VllmClient` satisfies it; unit tests script it. */
export interface TraceSource {
  runTrace(request: TraceRequest, hooks?: TraceHooks): Promise<TraceResult>;
}
