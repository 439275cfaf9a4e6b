import { VllmClientError } from '../errors.js';
import type { EndpointKind, TopKMode, TraceRequest } from '../types.js';

const invalid = (message: string) => new VllmClientError('config', message);

/** Rejects requests vLLM would reject or silently reinterpret, naming the field and what to do. */
export function checkTraceRequest(request: TraceRequest): void {
  const intField = (name: keyof TraceRequest, min: number) => {
    const v = request[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw invalid(`TraceRequest.${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    }
  };
  if (typeof request.prompt !== 'string') throw invalid('TraceRequest.prompt must be a string');
  intField('maxTokens', 1);
  intField('topLogprobs', 1);
  if (!Number.isInteger(request.topK) || request.topK < -1)
    throw invalid(`TraceRequest.topK must be an integer ≥ -1 (-1 or 0 = off), got ${request.topK}`);
  if (!(request.temperature >= 0)) throw invalid(`TraceRequest.temperature must be ≥ 0, got ${request.temperature}`);
  if (!(request.topP > 0 && request.topP <= 1))
    throw invalid(`TraceRequest.topP must be in (0, 1], got ${request.topP}`);
  if (request.seed !== null && !Number.isSafeInteger(request.seed))
    throw invalid(`TraceRequest.seed must be a safe integer or null, got ${request.seed}`);
  if (typeof request.thinking !== 'boolean') throw invalid('TraceRequest.thinking must be true or false');
}

/**
 * The JSON body for one trace. Every sampling parameter is pinned, because vLLM fills omitted ones from the model's
 * generation_config (Qwen3: temperature 0.6, top_p 0.95, top_k 20) without saying so; n is always 1 because
 * aborting a request aborts all of its choices.
 */
export function buildBody(
  kind: EndpointKind,
  model: string,
  request: TraceRequest,
  topKMode: TopKMode = 'exact',
): Record<string, unknown> {
  const sampling = {
    n: 1,
    temperature: request.temperature,
    top_p: request.topP,
    top_k: request.topK,
    min_p: 0,
    seed: request.seed,
    repetition_penalty: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    max_tokens: request.maxTokens,
    stream: true,
    // include_usage's default changed between versions; continuous stats would add a usage object to every chunk.
    stream_options: { include_usage: true, continuous_usage_stats: false },
  };
  if (kind === 'chat') {
    const messages = request.system === undefined ? [] : [{ role: 'system', content: request.system }];
    messages.push({ role: 'user', content: request.prompt });
    return {
      model,
      messages,
      ...sampling,
      max_completion_tokens: request.maxTokens,
      logprobs: true,
      // Chat returns the first N entries of [sampled, top1..]: asking K+1 lets exactTopK rebuild the reference set;
      // chat-view asks K for servers whose --max-logprobs is K (vLLM's default 20).
      top_logprobs: topKMode === 'exact' ? request.topLogprobs + 1 : request.topLogprobs,
      chat_template_kwargs: { enable_thinking: request.thinking },
    };
  }
  return {
    model,
    prompt: request.system === undefined ? request.prompt : `${request.system}\n\n${request.prompt}`,
    ...sampling,
    // The completions dict already holds K or K+1 entries (sampled included).
    logprobs: request.topLogprobs,
    // Dict keys are decoded strings, so distinct ids with equal text would collapse into one entry.
    return_tokens_as_token_ids: true,
  };
}
