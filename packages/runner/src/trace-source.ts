/**
 * What the runner needs from a model server. `VllmClient` from `@deepconf-safety/vllm-client` satisfies it;
 * unit tests script it. Declared here (structurally) so the runner's decisions can be tested with no HTTP.
 */
export interface TraceRequest {
  prompt: string;
  system?: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number | null;
  topLogprobs: number;
  thinking: boolean;
  sessionId?: string;
}

export interface TokenInfo {
  index: number;
  text: string;
  logprob: number;
  /** tokenConfidence of the exact top-k set at this position. */
  confidence: number;
}

export interface TraceResult {
  text: string;
  reasoning: string | null;
  tokens: number;
  confidences: Float64Array;
  finishReason: 'stop' | 'length' | 'aborted' | 'error';
  stoppedAt: number | null;
  endpoint: string;
  latencyMs: number;
  ttftMs: number | null;
}

export interface TraceHooks {
  /** Called for every generated token; returning true aborts the request now. */
  onToken?(token: TokenInfo): boolean;
  /** Cancels the trace at once (Ctrl+C); the promise then rejects. */
  signal?: AbortSignal;
}

export interface TraceSource {
  runTrace(request: TraceRequest, hooks?: TraceHooks): Promise<TraceResult>;
}
