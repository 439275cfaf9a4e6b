import { tokenText } from './json-text.js';
import { positionLogprobs } from './logprobs.js';
import type { TracePlan } from './safety-model.js';

/** One choice (trace) of a request as the renderers see it. */
export interface ChoiceTrace {
  readonly index: number;
  readonly traceSeed: number;
  readonly plan: TracePlan;
  /** Token strings that are special (no text in content), e.g. "<|im_end|>". */
  readonly eosToken: string;
  /** stop_reason on a natural stop: null for the tokenizer EOS, an int for a generation_config stop id. */
  readonly eosStopReason: number | null;
}

export interface RenderContext {
  readonly id: string;
  readonly created: number;
  /** JSON literal of the served model name. */
  readonly modelJson: string;
  /** null = no logprobs requested; otherwise the number of alternatives. */
  readonly topK: number | null;
  /** Split `<think>` text into reasoning deltas (vLLM --reasoning-parser qwen3), with this key. */
  readonly reasoningKey: 'reasoning_content' | 'reasoning' | null;
  /** Share of positions with a −9999 tail (EmulatorOptions.clampRate). */
  readonly clampRate: number;
}

/** Chat `logprobs.content[]` entry for position `pos`. */
function chatEntry(ctx: RenderContext, c: ChoiceTrace, pos: number): string {
  const tok = c.plan.tokens[pos] as string;
  const t = tokenText(tok);
  const k = ctx.topK as number;
  const p = positionLogprobs(c.traceSeed, pos, tok, c.plan.levels[pos] as number, k, ctx.clampRate);
  const head = `{"token":${t.json},"logprob":${p.sampledLp},"bytes":${t.bytes}`;
  return k === 0 ? `${head},"top_logprobs":[]}` : `${head},"top_logprobs":[${head}}${p.chatTail}]}`;
}

function visibleText(c: ChoiceTrace, pos: number): string {
  const tok = c.plan.tokens[pos] as string;
  return tok === c.eosToken ? '' : tok;
}

/** SSE event with the role delta that starts each chat choice. */
export function chatRoleChunk(ctx: RenderContext, index: number): string {
  return `data: {"id":"${ctx.id}","object":"chat.completion.chunk","created":${ctx.created},"model":${ctx.modelJson},"choices":[{"index":${index},"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null}\n\n`;
}

/**
 * SSE event for the logprobs of tokens [from, to) and the text of [textFrom, textTo) of a chat choice
 * (they differ when text lags, as with vLLM's stop-string hold-back); `last` adds finish_reason/stop_reason.
 * Returns '' when vLLM (≤0.11, reasoning parser on) would drop the chunk: a lone `<think>`/`</think>`.
 */
export function chatTokenChunk(
  ctx: RenderContext,
  c: ChoiceTrace,
  from: number,
  to: number,
  last: boolean,
  textFrom = from,
  textTo = to,
): string {
  let delta: string;
  if (ctx.reasoningKey !== null && textFrom < c.plan.thinkingTokens) {
    let reasoning = '';
    let content = '';
    for (let i = textFrom; i < textTo; i++) {
      const tok = visibleText(c, i);
      if (i < c.plan.thinkingTokens) {
        if (tok !== '<think>' && tok !== '</think>') reasoning += tok;
      } else content += tok;
    }
    const marker = c.plan.tokens[from];
    const onlyMarkers =
      reasoning === '' && content === '' && to - from === 1 && (marker === '<think>' || marker === '</think>') && !last;
    if (onlyMarkers) return '';
    const parts: string[] = [];
    if (reasoning !== '' || content === '') parts.push(`"${ctx.reasoningKey}":${JSON.stringify(reasoning)}`);
    if (content !== '') parts.push(`"content":${JSON.stringify(content)}`);
    delta = parts.join(',');
  } else if (textTo - textFrom === 1) {
    delta = `"content":${tokenText(visibleText(c, textFrom)).json}`;
  } else {
    let text = '';
    for (let i = textFrom; i < textTo; i++) text += visibleText(c, i);
    delta = `"content":${JSON.stringify(text)}`;
  }
  let logprobs = 'null';
  if (ctx.topK !== null) {
    logprobs = '{"content":[';
    for (let i = from; i < to; i++) logprobs += (i === from ? '' : ',') + chatEntry(ctx, c, i);
    logprobs += ']}';
  }
  const finish = last ? finishFields(c) : '"finish_reason":null';
  return `data: {"id":"${ctx.id}","object":"chat.completion.chunk","created":${ctx.created},"model":${ctx.modelJson},"choices":[{"index":${c.index},"delta":{${delta}},"logprobs":${logprobs},${finish},"token_ids":null}]}\n\n`;
}

function finishFields(c: ChoiceTrace): string {
  const stopReason = c.plan.finishReason === 'stop' ? String(c.eosStopReason) : 'null';
  return `"finish_reason":"${c.plan.finishReason}","stop_reason":${stopReason}`;
}

/** Completions logprobs object for tokens [from, to); `offset` is the text already streamed. */
function completionLogprobs(ctx: RenderContext, c: ChoiceTrace, from: number, to: number, offset: number): string {
  let offsets = '';
  let values = '';
  let tokens = '';
  let tops = '';
  let off = offset;
  for (let i = from; i < to; i++) {
    const tok = c.plan.tokens[i] as string;
    const t = tokenText(tok);
    const p = positionLogprobs(c.traceSeed, i, tok, c.plan.levels[i] as number, ctx.topK as number, ctx.clampRate);
    const sep = i === from ? '' : ',';
    offsets += sep + String(off);
    off += t.codePoints;
    values += sep + p.sampledLp;
    tokens += sep + t.json;
    tops += `${sep}{${t.json}:${p.sampledLp}${p.complTail}}`;
  }
  return `{"text_offset":[${offsets}],"token_logprobs":[${values}],"tokens":[${tokens}],"top_logprobs":[${tops}]}`;
}

/** SSE event for tokens [from, to) of a completions choice (text of [textFrom, textTo)). `offset` = code points already streamed. */
export function completionTokenChunk(
  ctx: RenderContext,
  c: ChoiceTrace,
  from: number,
  to: number,
  last: boolean,
  offset: number,
  textFrom = from,
  textTo = to,
): string {
  let text = '';
  for (let i = textFrom; i < textTo; i++) text += visibleText(c, i);
  const logprobs = ctx.topK === null ? 'null' : completionLogprobs(ctx, c, from, to, offset);
  const finish = last ? finishFields(c) : '"finish_reason":null,"stop_reason":null';
  return `data: {"id":"${ctx.id}","object":"text_completion","created":${ctx.created},"model":${ctx.modelJson},"choices":[{"index":${c.index},"text":${JSON.stringify(text)},"logprobs":${logprobs},${finish},"prompt_token_ids":null,"token_ids":null}],"usage":null}\n\n`;
}

/** Code points of the visible text of tokens [from, to). */
export function visibleLength(c: ChoiceTrace, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += tokenText(visibleText(c, i)).codePoints;
  return n;
}

/** Final usage event (`choices: []`), key order as vLLM's UsageInfo. */
export function usageChunk(ctx: RenderContext, object: string, promptTokens: number, completionTokens: number): string {
  return `data: {"id":"${ctx.id}","object":"${object}","created":${ctx.created},"model":${ctx.modelJson},"choices":[],"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens + completionTokens},"completion_tokens":${completionTokens}}}\n\n`;
}

export const DONE = 'data: [DONE]\n\n';

/** In-band error event: Python json.dumps formatting (spaces after ':' and ','). */
export function errorEvent(message: string, type: string, param: string | null, code: number): string {
  return `data: {"error": {"message": ${JSON.stringify(message)}, "type": ${JSON.stringify(type)}, "param": ${param === null ? 'null' : JSON.stringify(param)}, "code": ${code}}}\n\n`;
}

/** Non-streaming chat response body. */
export function chatResponse(ctx: RenderContext, choices: readonly ChoiceTrace[], promptTokens: number): string {
  let completion = 0;
  const parts = choices.map((c) => {
    const n = c.plan.tokens.length;
    completion += n;
    let text = '';
    let reasoning: string | null = null;
    for (let i = 0; i < n; i++) {
      const tok = visibleText(c, i);
      if (ctx.reasoningKey !== null && i < c.plan.thinkingTokens) {
        if (tok !== '<think>' && tok !== '</think>') reasoning = (reasoning ?? '') + tok;
      } else text += tok;
    }
    let logprobs = 'null';
    if (ctx.topK !== null) {
      logprobs = '{"content":[';
      for (let i = 0; i < n; i++) logprobs += (i === 0 ? '' : ',') + chatEntry(ctx, c, i);
      logprobs += ']}';
    }
    // v0.11's ChatMessage always carries reasoning_content (null without a reasoning parser).
    const reasoningField = `,"${ctx.reasoningKey ?? 'reasoning_content'}":${JSON.stringify(reasoning)}`;
    return `{"index":${c.index},"message":{"role":"assistant","content":${JSON.stringify(text)},"refusal":null,"annotations":null,"audio":null,"function_call":null,"tool_calls":[]${reasoningField}},"logprobs":${logprobs},${finishFields(c)}}`;
  });
  return `{"id":"${ctx.id}","object":"chat.completion","created":${ctx.created},"model":${ctx.modelJson},"choices":[${parts.join(',')}],"service_tier":null,"system_fingerprint":null,"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens + completion},"completion_tokens":${completion},"prompt_tokens_details":null},"prompt_logprobs":null,"kv_transfer_params":null}`;
}

/** Non-streaming completions response body. */
export function completionResponse(ctx: RenderContext, choices: readonly ChoiceTrace[], promptTokens: number): string {
  let completion = 0;
  const parts = choices.map((c) => {
    const n = c.plan.tokens.length;
    completion += n;
    let text = '';
    for (let i = 0; i < n; i++) text += visibleText(c, i);
    const logprobs = ctx.topK === null ? 'null' : completionLogprobs(ctx, c, 0, n, 0);
    return `{"index":${c.index},"text":${JSON.stringify(text)},"logprobs":${logprobs},${finishFields(c)},"prompt_logprobs":null}`;
  });
  return `{"id":"${ctx.id}","object":"text_completion","created":${ctx.created},"model":${ctx.modelJson},"choices":[${parts.join(',')}],"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens + completion},"completion_tokens":${completion},"prompt_tokens_details":null},"kv_transfer_params":null}`;
}
