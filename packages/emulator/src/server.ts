import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Engine } from './engine.js';
import { emulatedJudgeAnswer, judgeReplyBody, recognizeJudgeRequest } from './judge.js';
import { EmulatorListenError } from './errors.js';
import { GenerationJob, type JobStats } from './job.js';
import { renderMetrics } from './metrics.js';
import { resolveOptions, validateFaults, type EmulatorOptions, type FaultHook, type FaultOptions, type ResolvedOptions } from './options.js';
import { combine, hashString, unit } from './prng.js';
import type { ChoiceTrace, RenderContext } from './render.js';
import { errorEvent, DONE } from './render.js';
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
import { tokenize } from './tokenizer.js';

/** What every model card and /version say, so clients can label emulated runs. */
export const EMULATOR_NAME = 'deepconf-safety-emulator';
export const EMULATOR_VERSION = `0.0.0-${EMULATOR_NAME}`;

export interface EmulatorStats {
  /** Generation requests received (chat + completions), including rejected ones. */
  readonly requests: number;
  /** Sequences in the running batch now. */
  readonly activeSequences: number;
  /** Requests waiting for a batch slot. */
  readonly queuedRequests: number;
  readonly completedRequests: number;
  /** Requests dropped because the client disconnected before the end. */
  readonly abortedRequests: number;
  /** Requests ended by an injected mid-stream fault (cut stream, in-band error event). */
  readonly failedRequests: number;
  /** Requests answered with an error status (4xx/5xx, injected faults included). */
  readonly rejectedRequests: number;
  readonly tokensGenerated: number;
  /** Tokens produced after the client had disconnected (should stay 0: generation stops before the next token). */
  readonly tokensAfterDisconnect: number;
  /** Streams cut by the cutStreamAfterTokens fault. */
  readonly cutStreams: number;
  /** ∫ activeSequences dt; utilisation = busySeqSeconds / (maxNumSeqs × wall seconds). */
  readonly busySeqSeconds: number;
  readonly peakActiveSequences: number;
  /** Most requests ever waiting for a batch slot at once. */
  readonly peakQueuedRequests: number;
  /** Requests in a known judge format, answered by the emulated judge (counted in `requests` too). */
  readonly judgeRequests: number;
}

export interface EmulatorHandle {
  /** http://HOST:PORT */
  readonly url: string;
  /** url + '/v1' (what an OpenAI client takes as baseURL). */
  readonly baseURL: string;
  readonly port: number;
  stats(): EmulatorStats;
  /** Prometheus text, as served on /metrics. */
  metrics(): string;
  /** Replace the faults (e.g. make the server fail, then recover, within one test). */
  setFaults(faults: FaultOptions | FaultHook | undefined): void;
  /** Stops listening, drops open connections and timers. */
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

/** vLLM ≥0.10.1 error envelope, compact as Starlette's JSONResponse. */
function errorBody(r: RequestRejection): string {
  return JSON.stringify({ error: { message: r.message, type: r.type, param: r.param, code: r.status } });
}

function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** Starts the emulator; resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const opts = resolveOptions(options);
  let faults: FaultOptions | FaultHook | undefined = options.faults;
  const staticFaults = (): FaultOptions => (typeof faults === 'object' ? faults : {});
  const engine = new Engine({
    maxNumSeqs: opts.maxNumSeqs,
    ttftMs: () => opts.ttftMs,
    tokensPerSecond: () => opts.tokensPerSecond,
    now: opts.now,
  });
  const jobStats: JobStats = { tokensAfterDisconnect: 0, cutStreams: 0 };
  let requests = 0;
  let judgeRequests = 0;
  let rejected = 0;
  let promptTokensTotal = 0;
  const traceCounters = new Map<number, number>();
  const created = Math.floor(Date.now() / 1000);
  const modelJson = JSON.stringify(opts.model);
  const keyHash = opts.apiKey === null ? null : keyDigest(`Bearer ${opts.apiKey}`);
  const sockets = new Set<Socket>();

  const reject = (res: ServerResponse, r: RequestRejection): void => {
    rejected++;
    sendJson(res, r.status, errorBody(r));
  };

  const modelsBody = (): string =>
    JSON.stringify({
      object: 'list',
      data: [
        {
          id: opts.model,
          object: 'model',
          created,
          owned_by: EMULATOR_NAME,
          root: EMULATOR_NAME,
          parent: null,
          max_model_len: opts.maxModelLen,
          permission: [
            {
              id: `modelperm-${hashString(opts.model).toString(16)}`,
              object: 'model_permission',
              created,
              allow_create_engine: false,
              allow_sampling: true,
              allow_logprobs: true,
              allow_search_indices: false,
              allow_view: true,
              allow_fine_tuning: false,
              organization: '*',
              group: null,
              is_blocking: false,
            },
          ],
          emulator: { name: EMULATOR_NAME, version: EMULATOR_VERSION, seed: opts.seed },
        },
      ],
    });

  const stats = (): EmulatorStats => {
    const e = engine.snapshot();
    return {
      requests,
      activeSequences: e.activeSequences,
      queuedRequests: e.queuedRequests,
      completedRequests: e.completedRequests,
      abortedRequests: e.abortedRequests,
      failedRequests: engine.counters.failedRequests,
      rejectedRequests: rejected,
      tokensGenerated: e.tokensGenerated,
      tokensAfterDisconnect: jobStats.tokensAfterDisconnect,
      cutStreams: jobStats.cutStreams,
      busySeqSeconds: e.busySeqSeconds,
      peakActiveSequences: e.peakActiveSequences,
      peakQueuedRequests: e.peakQueuedRequests,
      judgeRequests,
    };
  };

  const metrics = (): string => {
    const e = engine.snapshot();
    return renderMetrics({
      model: opts.model,
      running: e.activeSequences,
      waiting: e.queuedRequests,
      maxNumSeqs: opts.maxNumSeqs,
      promptTokens: promptTokensTotal,
      generationTokens: e.tokensGenerated,
      finished: engine.counters.finishedByReason,
      tokensAfterDisconnect: jobStats.tokensAfterDisconnect,
      busySeqSeconds: e.busySeqSeconds,
      uptimeSeconds: e.uptimeSeconds,
    });
  };

  /** Trace key: the request seed (+ choice index, as vLLM's parallel sampling does), else a per-prompt counter. */
  const traceSeed = (promptHash: number, seed: number | null | undefined, choice: number): number => {
    let key: number;
    if (seed !== null && seed !== undefined) key = hashString(String(seed + choice), 0x5eed);
    else {
      const next = traceCounters.get(promptHash) ?? 0;
      if (traceCounters.size > 100_000) traceCounters.clear();
      traceCounters.set(promptHash, next + 1);
      key = hashString(`#${next}`, 0xc0de);
    }
    return combine(combine(opts.seed >>> 0, Math.floor(opts.seed / 4294967296)), combine(promptHash, key));
  };

  const handleGeneration = (req: IncomingMessage, res: ServerResponse, path: string, raw: string): void => {
    const requestIndex = requests++;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      reject(res, new RequestRejection(400, 'Bad Request', `1 validation error:\n  body: JSON decode error (${(e as Error).message}). Send a JSON object.`, null));
      return;
    }
    let f: FaultOptions;
    try {
      f = (typeof faults === 'function' ? faults({ requestIndex, path, body: json }) : faults) ?? {};
      if (typeof faults === 'function') validateFaults(f);
    } catch (e) {
      reject(res, new RequestRejection(500, 'InternalServerError', `emulator fault hook failed: ${(e as Error).message}`, null));
      return;
    }
    if (f.refuseConnections === true) {
      req.socket.destroy();
      return;
    }
    const roll = unit(combine(hashString('faults', opts.seed), requestIndex));
    if (f.status429Rate !== undefined && roll < f.status429Rate) {
      reject(res, new RequestRejection(429, 'RateLimitError', 'Too many requests (emulated fault). Retry later.', null));
      return;
    }
    if (f.status500Rate !== undefined && unit(combine(hashString('500', opts.seed), requestIndex)) < f.status500Rate) {
      reject(res, new RequestRejection(500, 'InternalServerError', 'Internal server error (emulated fault).', null));
      return;
    }
    const chat = path === '/v1/chat/completions';
    const parsed = chat ? ChatBody.safeParse(json) : CompletionBody.safeParse(json);
    if (!parsed.success) {
      reject(res, validationRejection(parsed.error));
      return;
    }
    const body = parsed.data;
    if (body.model !== null && body.model !== undefined && body.model !== opts.model) {
      reject(res, new RequestRejection(404, 'NotFoundError', `The model \`${body.model}\` does not exist.`, 'model'));
      return;
    }
    const stream = body.stream === true;
    // A judge prompt is answered in its own format (see judge.ts), not by the synthetic chat model.
    const judgeText = chat ? (body as ChatBody).messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n') : null;
    const judged = recognizeJudgeRequest(judgeText ?? (typeof (body as CompletionBody).prompt === 'string' ? ((body as CompletionBody).prompt as string) : ''));
    if (judged !== null) {
      judgeRequests++;
      const id = `${chat ? 'chatcmpl' : 'cmpl'}-${headerId(req) ?? randomUUID().replace(/-/g, '')}`;
      const answer = emulatedJudgeAnswer(judged, opts.seed, opts.judge);
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream; charset=utf-8' : 'application/json' });
      res.end(judgeReplyBody(chat ? 'chat' : 'completions', stream, id, opts.model, answer));
      return;
    }
    if (!stream && body.stream_options !== null && body.stream_options !== undefined) {
      reject(res, new RequestRejection(400, 'Bad Request', '1 validation error:\n  body: Value error, Stream options can only be defined when `stream=True`.', null));
      return;
    }
    let topK: number | null;
    let promptText: string;
    let seedText: string;
    let promptTokens: number;
    let maxTokens: number;
    let thinking: boolean;
    if (chat) {
      const b = body as ChatBody;
      const top = b.top_logprobs ?? null;
      if (top !== null && top < 0) {
        reject(res, new RequestRejection(400, 'Bad Request', '1 validation error:\n  body: Value error, `top_logprobs` must be a positive value.', null));
        return;
      }
      if (top !== null && top > 0 && b.logprobs !== true) {
        reject(res, new RequestRejection(400, 'Bad Request', '1 validation error:\n  body: Value error, when using `top_logprobs`, `logprobs` must be set to true.', null));
        return;
      }
      topK = b.logprobs === true ? (top ?? 0) : null;
      const kw = b.chat_template_kwargs?.['enable_thinking'];
      thinking = typeof kw === 'boolean' ? kw : opts.thinkingByDefault;
      promptText = chatPromptText(b);
      seedText = chatSeedText(b);
      promptTokens = chatPromptTokens(b, thinking);
      maxTokens = b.max_completion_tokens ?? b.max_tokens ?? Math.max(1, opts.maxModelLen - promptTokens);
    } else {
      const b = body as CompletionBody;
      const lp = b.logprobs ?? null;
      if (lp !== null && lp < 0) {
        reject(res, new RequestRejection(400, 'Bad Request', '1 validation error:\n  body.logprobs: Input should be greater than or equal to 0', null));
        return;
      }
      topK = lp;
      thinking = false;
      promptText = typeof b.prompt === 'string' ? b.prompt : (b.prompt[0] as string);
      seedText = promptText;
      promptTokens = tokenize(promptText).length;
      maxTokens = b.max_tokens ?? 16;
    }
    if (promptTokens + maxTokens > opts.maxModelLen) {
      reject(
        res,
        new RequestRejection(
          400,
          'BadRequestError',
          `This model's maximum context length is ${opts.maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
          null,
        ),
      );
      return;
    }
    const tooMany = topK !== null && topK > opts.maxLogprobs;
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${headerId(req) ?? randomUUID().replace(/-/g, '')}`;
    if (tooMany && !(stream && opts.validationErrorsInBand)) {
      reject(res, logprobsRejection(topK, opts));
      return;
    }
    if (stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
      if (tooMany) {
        const r = logprobsRejection(topK, opts);
        rejected++;
        res.end(errorEvent(r.message, r.type, r.param, r.status) + DONE);
        return;
      }
    }
    const n = body.n ?? 1;
    const promptHash = hashString(seedText, 0x9e37);
    const eosToken = chat ? '<|im_end|>' : '<|endoftext|>';
    const choices: ChoiceTrace[] = [];
    for (let i = 0; i < n; i++) {
      const ts = traceSeed(promptHash, body.seed, i);
      choices.push({ index: i, traceSeed: ts, plan: planTrace({ traceSeed: ts, prompt: promptText, thinking, maxTokens, eosToken }), eosToken, eosStopReason: chat ? null : 151643 });
    }
    promptTokensTotal += promptTokens;
    const ctx: RenderContext = { id, created: Math.floor(Date.now() / 1000), modelJson, topK, reasoningKey: chat ? opts.reasoningKey : null, clampRate: opts.clampRate };
    const includeUsage = stream && body.stream_options !== null && body.stream_options !== undefined && body.stream_options.include_usage !== false;
    const job = new GenerationJob(
      res,
      { kind: chat ? 'chat' : 'completions', stream, includeUsage, promptTokens, choices },
      ctx,
      { cutStreamAfterTokens: f.cutStreamAfterTokens ?? null, errorEventAfterTokens: f.errorEventAfterTokens ?? null, slowFactor: f.slowFactor ?? 1 },
      engine,
      jobStats,
      opts.maxTokensPerChunk,
      opts.textLagTokens,
      opts.log,
    );
    opts.log?.(`${path} ${id} n=${n} max_tokens=${maxTokens} stream=${stream}`);
    engine.submit(job);
  };

  const authorised = (req: IncomingMessage): boolean => {
    if (keyHash === null) return true;
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    return timingSafeEqual(keyDigest(header), keyHash);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/v1') && !authorised(req)) {
      if (path.endsWith('completions')) requests++;
      rejected++;
      sendJson(res, 401, '{"error":"Unauthorized"}');
      req.resume();
      return;
    }
    if (req.method === 'GET') {
      req.resume();
      switch (path) {
        case '/health':
          res.writeHead(staticFaults().unhealthy === true ? 503 : 200);
          res.end();
          return;
        case '/version':
          sendJson(res, 200, JSON.stringify({ version: EMULATOR_VERSION }));
          return;
        case '/v1/models':
          sendJson(res, 200, modelsBody());
          return;
        case '/metrics':
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(metrics());
          return;
      }
    }
    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      if (req.method !== 'POST') {
        sendJson(res, 405, '{"detail":"Method Not Allowed"}');
        req.resume();
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      req.on('data', (b: Buffer) => {
        size += b.length;
        if (size > MAX_BODY) {
          reject(res, new RequestRejection(413, 'Bad Request', `Request body larger than ${MAX_BODY} bytes.`, null));
          req.destroy();
          return;
        }
        parts.push(b);
      });
      req.on('end', () => {
        if (size > MAX_BODY) return;
        try {
          handleGeneration(req, res, path, Buffer.concat(parts).toString('utf8'));
        } catch (e) {
          // A bug must cost one request, not the server other tests and runs share.
          opts.log?.(`internal error: ${(e as Error).stack ?? String(e)}`);
          if (!res.headersSent) reject(res, new RequestRejection(500, 'InternalServerError', `emulator internal error: ${(e as Error).message}`, null));
          else res.destroy();
        }
      });
      return;
    }
    req.resume();
    sendJson(res, 404, '{"detail":"Not Found"}');
  });
  server.on('connection', (socket: Socket) => {
    if (staticFaults().refuseConnections === true) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new EmulatorListenError(opts.host, opts.port, { cause: e }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostPart}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    url,
    baseURL: `${url}/v1`,
    port,
    stats,
    metrics,
    setFaults(next) {
      if (next !== undefined && typeof next !== 'function') validateFaults(next);
      faults = next;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        engine.stop();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function headerId(req: IncomingMessage): string | null {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(h) ? h : null;
}

function logprobsRejection(k: number | null, opts: ResolvedOptions): RequestRejection {
  return new RequestRejection(
    400,
    'BadRequestError',
    `Requested sample logprobs of ${String(k)}, which is greater than max allowed: ${opts.maxLogprobs} (parameter=logprobs, value=${String(k)})`,
    'logprobs',
  );
}
