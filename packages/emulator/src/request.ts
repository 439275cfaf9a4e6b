import { z } from 'zod';
import { tokenize } from './tokenizer.js';

// Request bodies are validated leniently, like vLLM's pydantic models with extra="allow":
// unknown fields pass; known fields with the wrong type are a 400.

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const Message = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
});
const StreamOptions = z.looseObject({
  include_usage: z.boolean().nullish(),
  continuous_usage_stats: z.boolean().nullish(),
});
const int = z.number().int();

const Common = {
  model: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions.nullish(),
  n: int.min(1).max(128).nullish(),
  max_tokens: int.min(1).nullish(),
  seed: int.nullish(),
  temperature: z.number().min(0).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: int.nullish(),
};

export const ChatBody = z.looseObject({
  ...Common,
  messages: z.array(Message).min(1),
  logprobs: z.boolean().nullish(),
  top_logprobs: int.nullish(),
  max_completion_tokens: int.min(1).nullish(),
  chat_template_kwargs: z.record(z.string(), z.unknown()).nullish(),
});
export type ChatBody = z.infer<typeof ChatBody>;

export const CompletionBody = z.looseObject({
  ...Common,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  logprobs: int.nullish(),
  echo: z.boolean().nullish(),
});
export type CompletionBody = z.infer<typeof CompletionBody>;

/** A 4xx the emulator answers with vLLM's error envelope. */
export class RequestRejection {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string,
    readonly param: string | null,
  ) {}
}

/** Formats zod issues the way newer vLLM words RequestValidationError ("N validation error(s):"). */
export function validationRejection(error: z.ZodError): RequestRejection {
  const lines = error.issues.map((i) => `  ${['body', ...i.path.map(String)].join('.')}: ${i.message}`);
  const n = error.issues.length;
  return new RequestRejection(
    400,
    'Bad Request',
    `${n} validation error${n === 1 ? '' : 's'}:\n${lines.join('\n')}`,
    null,
  );
}

function messageText(m: z.infer<typeof Message>): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? '').join('');
  return '';
}

/** Text the safety model reads: the last user message (falls back to the last message). */
export function chatPromptText(body: ChatBody): string {
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const m = body.messages[i];
    if (m !== undefined && m.role === 'user') return messageText(m);
  }
  const last = body.messages[body.messages.length - 1];
  return last === undefined ? '' : messageText(last);
}

/** Everything in the conversation, for seeding (a different system prompt gives different traces). */
export function chatSeedText(body: ChatBody): string {
  return body.messages.map((m) => `${m.role}\u0000${messageText(m)}`).join('\u0001');
}

/** Prompt tokens after Qwen3's chat template (im_start/im_end framing, empty think block when thinking is off). */
export function chatPromptTokens(body: ChatBody, thinking: boolean): number {
  let n = 0;
  for (const m of body.messages) n += tokenize(`<|im_start|>${m.role}\n${messageText(m)}<|im_end|>\n`).length;
  n += tokenize('<|im_start|>assistant\n').length;
  if (!thinking) n += tokenize('<think>\n\n</think>\n\n').length;
  return n;
}
