import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GenerationJob } from './job.js';
import { emulatedJudgeAnswer, judgeReplyBody, recognizeJudgeRequest } from './judge.js';
import { profileOf, type ModelProfile } from './model-profile.js';
import { validateFaults, type FaultOptions, type ResolvedOptions } from './options.js';
import { combine, hashString, unit } from './prng.js';
import { DONE, errorEvent, type ChoiceTrace, type RenderContext } from './render.js';
import {
  ChatBody,
  chatPromptText,
  chatPromptTokens,
  chatSeedText,
  CompletionBody,
  RequestRejection,
  validationRejection,
} from './request.js';
import { planTrace } from './safety-model.js';
import type { EmulatorState } from './state.js';
import { tokenize } from './tokenizer.js';

// One generation request, from its raw body to a job in the engine: parse, apply faults, validate the way
// vLLM does (each check answers with vLLM's own wording), plan the traces, submit.

type Body = ChatBody | CompletionBody;

/** What the traces of a request depend on, read from a chat or a completions body. */
interface PromptParams {
  readonly topK: number | null;
  readonly promptText: string;
  readonly seedText: string;
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly thinking: boolean;
}

const badRequest = (detail: string): RequestRejection =>
  new RequestRejection(400, 'Bad Request', `1 validation error:\n  ${detail}`, null);

function parseJson(raw: string): unknown | RequestRejection {
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    return new RequestRejection(
      400,
      'Bad Request',
      `1 validation error:\n  body: JSON decode error (${(e as Error).message}). Send a JSON object.`,
      null,
    );
  }
}

/** The faults of this request: the static ones, or the hook's decision (validated like static ones). */
function requestFaults(
  state: EmulatorState,
  requestIndex: number,
  path: string,
  body: unknown,
): FaultOptions | RequestRejection {
  const faults = state.faults;
  try {
    const f = (typeof faults === 'function' ? faults({ requestIndex, path, body }) : faults) ?? {};
    if (typeof faults === 'function') validateFaults(f);
    return f;
  } catch (e) {
    return new RequestRejection(
      500,
      'InternalServerError',
      `emulator fault hook failed: ${(e as Error).message}`,
      null,
    );
  }
}

/** An injected 429/500 for this request, rolled deterministically in the server seed. */
function injectedStatus(f: FaultOptions, seed: number, requestIndex: number): RequestRejection | null {
  const roll = unit(combine(hashString('faults', seed), requestIndex));
  if (f.status429Rate !== undefined && roll < f.status429Rate) {
    return new RequestRejection(429, 'RateLimitError', 'Too many requests (emulated fault). Retry later.', null);
  }
  if (f.status500Rate !== undefined && unit(combine(hashString('500', seed), requestIndex)) < f.status500Rate) {
    return new RequestRejection(500, 'InternalServerError', 'Internal server error (emulated fault).', null);
  }
  return null;
}

function chatParams(b: ChatBody, opts: ResolvedOptions): PromptParams | RequestRejection {
  const top = b.top_logprobs ?? null;
  if (top !== null && top < 0) return badRequest('body: Value error, `top_logprobs` must be a positive value.');
  if (top !== null && top > 0 && b.logprobs !== true) {
    return badRequest('body: Value error, when using `top_logprobs`, `logprobs` must be set to true.');
  }
  const kw = b.chat_template_kwargs?.['enable_thinking'];
  const thinking = typeof kw === 'boolean' ? kw : opts.thinkingByDefault;
  const promptTokens = chatPromptTokens(b, thinking);
  return {
    topK: b.logprobs === true ? (top ?? 0) : null,
    thinking,
    promptText: chatPromptText(b),
    seedText: chatSeedText(b),
    promptTokens,
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? Math.max(1, opts.maxModelLen - promptTokens),
  };
}

function completionParams(b: CompletionBody): PromptParams | RequestRejection {
  const lp = b.logprobs ?? null;
  if (lp !== null && lp < 0) return badRequest('body.logprobs: Input should be greater than or equal to 0');
  const promptText = typeof b.prompt === 'string' ? b.prompt : (b.prompt[0] as string);
  return {
    topK: lp,
    thinking: false,
    promptText,
    seedText: promptText,
    promptTokens: tokenize(promptText).length,
    maxTokens: b.max_tokens ?? 16,
  };
}

function contextRejection(p: PromptParams, maxModelLen: number): RequestRejection | null {
  const total = p.promptTokens + p.maxTokens;
  if (total <= maxModelLen) return null;
  return new RequestRejection(
    400,
    'BadRequestError',
    `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${total} tokens (${p.promptTokens} in the messages, ${p.maxTokens} in the completion). Please reduce the length of the messages or completion.`,
    null,
  );
}

export function logprobsRejection(k: number | null, opts: ResolvedOptions): RequestRejection {
  return new RequestRejection(
    400,
    'BadRequestError',
    `Requested sample logprobs of ${String(k)}, which is greater than max allowed: ${opts.maxLogprobs} (parameter=logprobs, value=${String(k)})`,
    'logprobs',
  );
}

function headerId(req: IncomingMessage): string | null {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(h) ? h : null;
}

/** The body checked against the schema, and the served model it asks for, or the rejection vLLM would answer. */
function parseBody(
  json: unknown,
  chat: boolean,
  opts: ResolvedOptions,
): { body: Body; model: ModelProfile } | RequestRejection {
  const parsed = chat ? ChatBody.safeParse(json) : CompletionBody.safeParse(json);
  if (!parsed.success) return validationRejection(parsed.error);
  const body = parsed.data;
  const model = body.model ?? opts.model;
  if (!opts.models.includes(model))
    return new RequestRejection(404, 'NotFoundError', `The model \`${model}\` does not exist.`, 'model');
  return { body, model: profileOf(model) };
}

/** The parameters a request's traces need, or the rejection vLLM would answer. */
function promptParams(body: Body, chat: boolean, opts: ResolvedOptions): PromptParams | RequestRejection {
  if (body.stream !== true && body.stream_options !== null && body.stream_options !== undefined) {
    return badRequest('body: Value error, Stream options can only be defined when `stream=True`.');
  }
  const params = chat ? chatParams(body as ChatBody, opts) : completionParams(body as CompletionBody);
  if (params instanceof RequestRejection) return params;
  return contextRejection(params, opts.maxModelLen) ?? params;
}

const requestId = (req: IncomingMessage, chat: boolean): string =>
  `${chat ? 'chatcmpl' : 'cmpl'}-${headerId(req) ?? randomUUID().replace(/-/g, '')}`;

/** A judge prompt is answered in its own format (see judge.ts), not by the synthetic chat model; false for other requests. */
function answerAsJudge(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Body,
  model: string,
  chat: boolean,
): boolean {
  const text = chat
    ? (body as ChatBody).messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n')
    : typeof (body as CompletionBody).prompt === 'string'
      ? ((body as CompletionBody).prompt as string)
      : '';
  const judged = recognizeJudgeRequest(text);
  if (judged === null) return false;
  state.judgeRequests++;
  const stream = body.stream === true;
  const answer = emulatedJudgeAnswer(judged, state.opts.seed, state.opts.judge);
  const reply = (): void => {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': stream ? 'text/event-stream; charset=utf-8' : 'application/json' });
    res.end(judgeReplyBody(chat ? 'chat' : 'completions', stream, requestId(req, chat), model, answer));
  };
  // A judge answers in a few tokens: about the time to first token.
  if (state.opts.ttftMs > 0) setTimeout(reply, state.opts.ttftMs).unref();
  else reply();
  return true;
}

function planChoices(
  state: EmulatorState,
  body: Body,
  model: ModelProfile,
  p: PromptParams,
  chat: boolean,
): ChoiceTrace[] {
  const promptHash = hashString(p.seedText, 0x9e37);
  const eosToken = chat ? '<|im_end|>' : '<|endoftext|>';
  const choices: ChoiceTrace[] = [];
  for (let i = 0; i < (body.n ?? 1); i++) {
    const ts = state.traceSeed(promptHash, body.seed, i);
    const plan = planTrace({
      traceSeed: ts,
      prompt: p.promptText,
      thinking: p.thinking,
      maxTokens: p.maxTokens,
      eosToken,
      modelScale: model.scale,
    });
    choices.push({ index: i, traceSeed: ts, plan, eosToken, eosStopReason: chat ? null : 151643 });
  }
  return choices;
}

/** Serves one POST to /v1/chat/completions or /v1/completions whose body has been read. */
export function handleGeneration(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  raw: string,
): void {
  const opts = state.opts;
  const requestIndex = state.requests++;
  const json = parseJson(raw);
  if (json instanceof RequestRejection) {
    state.reject(res, json);
    return;
  }
  const f = requestFaults(state, requestIndex, path, json);
  if (f instanceof RequestRejection) {
    state.reject(res, f);
    return;
  }
  if (f.refuseConnections === true) {
    req.socket.destroy();
    return;
  }
  const injected = injectedStatus(f, opts.seed, requestIndex);
  if (injected !== null) {
    state.reject(res, injected);
    return;
  }
  const chat = path === '/v1/chat/completions';
  const parsed = parseBody(json, chat, opts);
  if (parsed instanceof RequestRejection) {
    state.reject(res, parsed);
    return;
  }
  const { body, model } = parsed;
  if (answerAsJudge(state, req, res, body, model.name, chat)) return;
  const params = promptParams(body, chat, opts);
  if (params instanceof RequestRejection) {
    state.reject(res, params);
    return;
  }
  const stream = body.stream === true;
  const topK = params.topK;
  const tooMany = topK !== null && topK > opts.maxLogprobs;
  const id = requestId(req, chat);
  if (tooMany && !(stream && opts.validationErrorsInBand)) {
    state.reject(res, logprobsRejection(topK, opts));
    return;
  }
  if (stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (tooMany) {
      const r = logprobsRejection(topK, opts);
      state.rejected++;
      res.end(errorEvent(r.message, r.type, r.param, r.status) + DONE);
      return;
    }
  }
  const choices = planChoices(state, body, model, params, chat);
  state.promptTokensTotal += params.promptTokens;
  const ctx: RenderContext = {
    id,
    created: Math.floor(Date.now() / 1000),
    modelJson: JSON.stringify(model.name),
    topK,
    reasoningKey: chat ? opts.reasoningKey : null,
    clampRate: opts.clampRate,
  };
  const includeUsage =
    stream &&
    body.stream_options !== null &&
    body.stream_options !== undefined &&
    body.stream_options.include_usage !== false;
  const job = new GenerationJob(
    res,
    { kind: chat ? 'chat' : 'completions', stream, includeUsage, promptTokens: params.promptTokens, choices },
    ctx,
    {
      cutStreamAfterTokens: f.cutStreamAfterTokens ?? null,
      errorEventAfterTokens: f.errorEventAfterTokens ?? null,
      slowFactor: f.slowFactor ?? 1,
    },
    state.engine,
    state.jobStats,
    opts.maxTokensPerChunk,
    opts.textLagTokens,
    opts.log,
  );
  opts.log?.(`${path} ${id} n=${body.n ?? 1} max_tokens=${params.maxTokens} stream=${stream}`);
  state.engine.submit(job);
}
