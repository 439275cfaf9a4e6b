import { z } from 'zod';

// Loose objects everywhere: vLLM and the SDK add fields over time (vllm-protocol.md, intro), so unknown keys pass.

const TopLogprobSchema = z.looseObject({ token: z.string(), logprob: z.number() });

const ChatLogprobEntrySchema = z.looseObject({
  token: z.string(),
  logprob: z.number(),
  top_logprobs: z.array(TopLogprobSchema).nullish(),
});

const FinishFields = {
  finish_reason: z.string().nullish(),
  stop_reason: z.union([z.number(), z.string()]).nullish(),
};

export const UsageSchema = z.looseObject({
  prompt_tokens: z.number(),
  completion_tokens: z.number().nullish(),
  total_tokens: z.number(),
});

export const ChatChunkSchema = z.looseObject({
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      delta: z
        .looseObject({
          role: z.string().nullish(),
          content: z.string().nullish(),
          reasoning: z.string().nullish(),
          reasoning_content: z.string().nullish(),
        })
        .nullish(),
      logprobs: z.looseObject({ content: z.array(ChatLogprobEntrySchema).nullish() }).nullish(),
      ...FinishFields,
    }),
  ),
  usage: UsageSchema.nullish(),
});

export const CompletionChunkSchema = z.looseObject({
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      text: z.string().nullish(),
      logprobs: z
        .looseObject({
          tokens: z.array(z.string()),
          token_logprobs: z.array(z.number().nullable()),
          top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullish(),
        })
        .nullish(),
      ...FinishFields,
    }),
  ),
  usage: UsageSchema.nullish(),
});

/** vLLM ≥0.10.1 `{"error":{...}}`, older flat `{"object":"error",...}`, and the auth middleware's `{"error":"Unauthorized"}`. */
export const ErrorBodySchema = z.union([
  z.looseObject({
    error: z.looseObject({
      message: z.string().nullish(),
      type: z.string().nullish(),
      param: z.string().nullish(),
      code: z.union([z.number(), z.string()]).nullish(),
    }),
  }),
  z.looseObject({ error: z.string() }),
  z.looseObject({
    object: z.literal('error'),
    message: z.string().nullish(),
    type: z.string().nullish(),
    param: z.string().nullish(),
    code: z.union([z.number(), z.string()]).nullish(),
  }),
]);

export type ErrorInfo = { message: string; type: string | null; param: string | null; code: number | null };

/** Normalises any of vLLM's error bodies; null when `body` is not one. */
export function parseErrorBody(body: unknown): ErrorInfo | null {
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success) return null;
  const b = parsed.data;
  const info =
    'object' in b && b.object === 'error' && !('error' in b)
      ? b
      : typeof b.error === 'string'
        ? { message: b.error }
        : b.error;
  const record = info as { message?: unknown; type?: unknown; param?: unknown; code?: unknown };
  const code =
    typeof record.code === 'number'
      ? record.code
      : typeof record.code === 'string' && /^\d+$/.test(record.code)
        ? Number(record.code)
        : null;
  return {
    message: typeof record.message === 'string' ? record.message : '',
    type: typeof record.type === 'string' ? record.type : null,
    param: typeof record.param === 'string' ? record.param : null,
    code,
  };
}

export const ModelListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string(), max_model_len: z.number().nullish(), root: z.string().nullish() })),
});

export const VersionSchema = z.looseObject({ version: z.string() });
