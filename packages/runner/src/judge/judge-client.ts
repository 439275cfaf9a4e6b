import OpenAI from 'openai';
import { joinUrl, sdkBase } from '@deepconf-safety/vllm-client';
import type { JudgeRequestText } from '@deepconf-safety/refusal';

/** Sends one judge request and resolves with the judge's raw answer text. */
export interface JudgeClient {
  complete(request: JudgeRequestText, signal?: AbortSignal): Promise<string>;
}

export interface JudgeClientOptions {
  baseURL: string;
  model: string;
  /** Never logged or stored. */
  apiKey?: string;
  /** `chat` sends the style's messages (the model's chat template frames them); `completions` its raw classifier prompt. */
  endpoint: 'chat' | 'completions';
  /** Per request (default 60 s): a judge call never waits forever. */
  timeoutMs?: number;
  /** Retries of a failed call with backoff (the SDK's: connection errors, 408/409/429/5xx). Default 2. */
  maxRetries?: number;
  /** Tokens the answer may take; every published format answers in a few lines. Default 64. */
  maxTokens?: number;
  fetch?: typeof fetch;
}

/** A judge over vLLM's OpenAI API at temperature 0 (greedy, as WildGuard, HarmBench and XSTest's GPT-4 prompt run). */
export function createJudgeClient(options: JudgeClientOptions): JudgeClient {
  const sdk = new OpenAI({
    // A key in the base URL's query must reach every request; the SDK's baseURL is joined as text, so it goes apart.
    ...sdkBase(options.baseURL),
    apiKey: options.apiKey ?? 'EMPTY',
    timeout: options.timeoutMs ?? 60_000,
    maxRetries: options.maxRetries ?? 2,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const maxTokens = options.maxTokens ?? 64;
  return {
    async complete(request, signal) {
      if (options.endpoint === 'completions') {
        const r = await sdk.completions.create(
          { model: options.model, prompt: request.completion, max_tokens: maxTokens, temperature: 0 },
          { signal },
        );
        return answerText(r.choices?.[0]?.text);
      }
      const r = await sdk.chat.completions.create(
        { model: options.model, messages: request.messages, max_tokens: maxTokens, temperature: 0 },
        { signal },
      );
      return answerText(r.choices?.[0]?.message?.content);
    },
  };
}

function answerText(text: string | null | undefined): string {
  if (typeof text !== 'string') throw new Error('the judge endpoint answered without any text (no choices[0] content)');
  return text;
}

/** Asks /v1/models whether the judge endpoint is the project's emulator (its model cards say so). */
export async function judgeEndpointEmulated(
  options: Pick<JudgeClientOptions, 'baseURL' | 'apiKey' | 'fetch'>,
  signal?: AbortSignal,
): Promise<boolean | null> {
  const f = options.fetch ?? fetch;
  try {
    const res = await f(joinUrl(options.baseURL, 'models'), {
      headers: options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` },
      signal: signal ?? AbortSignal.timeout(10_000),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { data?: { owned_by?: unknown; emulator?: unknown }[] };
    return (body.data ?? []).some(
      (m) => m.owned_by === 'deepconf-safety-emulator' || (typeof m.emulator === 'object' && m.emulator !== null),
    );
  } catch {
    return null;
  }
}
