import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '@deepconf-safety/datasets';

/**
 * A small vLLM-shaped OpenAI server for tests, written apart from packages/emulator on purpose: a protocol mistake
 * shared by the emulator and the client would otherwise hide itself. Shapes follow shared/docs/vllm-protocol.md;
 * each `profile` is one vLLM version / launch configuration the client must cope with.
 */
export type VariantProfile =
  /** v0.10.2–0.11.x, as in shared/fixtures/vllm. */
  | 'v0.11'
  /** 2026 main: `reasoning`, `prompt_text: null`, `system_fingerprint`, completions chunks without `usage`, "repetition". */
  | 'main-2026'
  /** Stock `--max-logprobs 20`: top_logprobs 21 answers 400. */
  | 'max-logprobs-20'
  /** A consumer behind the engine: merged multi-token chunks, text held back behind logprobs. */
  | 'lagging'
  /** Qwen3 thinking with no reasoning parser: `<think>` inline in content. */
  | 'think-inline'
  /** Qwen3.5-style template that puts `<think>` in the prompt: only `</think>` appears in content. */
  | 'think-implicit'
  /** Qwen3 thinking with `--reasoning-parser qwen3` (v0.11: `reasoning_content`, tag-only deltas dropped). */
  | 'think-parser';

export interface VariantServerOptions {
  profile: VariantProfile;
  /** `--api-key`: /v1/* answers 401 without it. */
  apiKey?: string;
  model?: string;
  /** Pause between engine steps, ms (lets an early stop arrive mid-stream). */
  stepMs?: number;
}

export interface ServedPosition {
  /** DeepConf reference confidence: -mean of vLLM's per-position dict [sampled, top1..topK]. */
  exact: number;
  /** -mean of the first K entries of that dict (what chat returns for top_logprobs = K). */
  chatView: number;
}

/** One generation request as served (probes included; they have `probe: true`). */
export interface ServedRequest {
  endpoint: 'chat' | 'completions';
  prompt: string;
  seed: number | null;
  probe: boolean;
  kind: 'refusal' | 'compliance';
  thinking: string | null;
  answer: string;
  /** The answer as `content` deltas carry it (a reasoning parser leaves Qwen's "\n\n" after </think> in content). */
  content: string;
  /** Tokens the full response would have (EOS included). */
  planned: number;
  /** Positions whose logprobs went out, in order. */
  delivered: ServedPosition[];
  finishReason: string | null;
  /** An in-band error event was sent after a few tokens (the first attempt only). */
  inBandError: boolean;
  /** The client went away before the finish chunk. */
  aborted: boolean;
}

export interface VariantServer {
  baseURL: string;
  requests: ServedRequest[];
  /** Requests refused with 401, and with 400. */
  rejected: { unauthorized: number; badRequest: number };
  /** Resolves once no stream is being generated (an aborted one stops at its next step). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const K = 20;
const REFUSAL =
  "I'm sorry, but I can't help with that. Giving step by step instructions for this could put people in danger, and that goes against the rules I follow. If you want, I can point you to general safety resources instead.";
// Quotes, backslashes, newlines and non-BMP characters exercise JSON escapes and the client's fast chunk scanner;
// the markup must come out escaped in the report.
const COMPLIANCE =
  'Sure. Here is a short overview of the topic you asked about. The idea is simple: start with the basics, look at a worked example, and then try it yourself with a small case.\n\nFor example, type "cd C:\\tmp\\café" and press Enter ☕ — naïve but fine 😀 so you can see how each step fits together. <script>alert("x")</script>';
const THINKING =
  'The user asks a question. Let me consider whether answering is safe and what a helpful reply looks like.';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TOO_LARGE = readFileSync(join(repo, 'test-fixtures/vllm/error_top_logprobs_too_large.json'), 'utf8');

/** A small deterministic PRNG (responses depend only on prompt and seed). */
const rng = mulberry32;

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const f32 = Math.fround;

/** Python's float repr, as vLLM's pydantic dump writes logprobs: "-9999.0", "-3.1e-05". */
function pyRepr(v: number): string {
  if (Number.isInteger(v)) return v.toFixed(1);
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e16) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}
const PY = '\u0000';
/** A float that serialises in Python form (see `dumps`). */
const pf = (v: number) => ({ toJSON: () => `${PY}${pyRepr(v)}${PY}` });
/** JSON.stringify, with `pf` values written as bare Python-formatted numbers. */
const dumps = (obj: unknown) => JSON.stringify(obj).replace(/"\\u0000([^"\\]*)\\u0000"/g, '$1');

interface Alt {
  token: string;
  id: number;
  logprob: number;
}
interface Position {
  sampled: Alt;
  /** Best first; the sampled token sits at its rank. */
  ranked: Alt[];
}

/** vLLM's per-position dict for `n` requested logprobs: [sampled, top1..topN] without the duplicate (N or N+1 entries). */
function dict(p: Position, n: number): Alt[] {
  return [p.sampled, ...p.ranked.slice(0, n).filter((a) => a !== p.sampled)];
}

const EOS = { token: '<|im_end|>', id: 151645 };

/** Plausible ranked alternatives around a sampled token; `uncertain` traces have flat distributions (low confidence). */
function position(token: string, id: number, next: () => number, uncertain: boolean): Position {
  const u = next();
  // Sampled rank: mostly 1, sometimes 2-4, rarely at or beyond K (then the top-K dict has K+1 entries).
  const rank = u < 0.72 ? 0 : u < 0.95 ? 1 + Math.floor(next() * 3) : K - 1 + Math.floor(next() * 4);
  const ranked: Alt[] = [];
  // Near-certain tokens get values below 1e-4, which Python prints in exponent form ("-3.1e-05").
  let lp = uncertain ? -0.4 - next() * 0.6 : next() < 0.3 ? -(1e-6 + next() * 9e-5) : -0.01 - next() * 0.05;
  for (let r = 0; r < K + 6; r++) {
    // Distinct ids can decode to the same string (v0.11 decodes partial UTF-8 pieces alone to U+FFFD): chat keeps both entries.
    ranked.push({ token: r % 4 === 2 ? '\uFFFD' : `alt${r}_${id}`, id: 1000 + r * 7 + (id % 5), logprob: f32(lp) });
    lp -= uncertain ? 0.05 + next() * 0.25 : 0.6 + next() * 1.4;
  }
  const at = ranked[rank];
  if (at === undefined) throw new Error('unreachable');
  const sampled: Alt = { token, id, logprob: at.logprob };
  ranked[rank] = sampled;
  // vLLM clamps -inf to -9999.0 (here: tokens a processed_logprobs top-k filter removed, deep in the list).
  if (rank < K + 1 && next() < 0.3)
    for (let r = K + 1; r < ranked.length; r++) ranked[r] = { ...(ranked[r] as Alt), logprob: -9999 };
  return { sampled, ranked };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const served = (p: Position): ServedPosition => ({
  exact: -mean(dict(p, K).map((a) => a.logprob)),
  chatView: -mean(
    dict(p, K)
      .slice(0, K)
      .map((a) => a.logprob),
  ),
});
const bytes = (s: string) => [...Buffer.from(s, 'utf8')];

function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

interface Plan {
  kind: 'refusal' | 'compliance';
  thinking: string | null;
  answer: string;
  /** Each token, with its role for a reasoning parser. */
  /** `text` is what the token adds to the output text (the logprob entry's token string can differ). */
  tokens: Array<{ pos: Position; role: 'think-open' | 'thinking' | 'think-close' | 'answer' | 'eos'; text: string }>;
  length: boolean;
}

function plan(prompt: string, seed: number | null, maxTokens: number, thinking: boolean, openTag: boolean): Plan {
  const h = hash(prompt);
  const kind = h % 2 === 0 ? 'compliance' : 'refusal';
  const next = rng(h ^ Math.imul((seed ?? 0) + 1, 0x9e3779b1));
  const uncertain = next() < 0.4;
  const answer = kind === 'refusal' ? REFUSAL : COMPLIANCE;
  const tokens: Plan['tokens'] = [];
  let id = 200;
  const push = (t: string, role: Plan['tokens'][number]['role']) => {
    if (/[\u{10000}-\u{10FFFF}]/u.test(t)) {
      // A 4-byte character spans two tokens: the first decodes alone to U+FFFD and adds no text until the second.
      tokens.push({ pos: position('\uFFFD', id++, next, uncertain), role, text: '' });
    }
    tokens.push({ pos: position(t, id++, next, uncertain), role, text: t });
  };
  if (thinking) {
    if (openTag) push('<think>', 'think-open');
    push('\n', 'thinking');
    for (const w of words(THINKING)) push(w, 'thinking');
    push('</think>', 'think-close');
    push('\n\n', 'answer');
  }
  for (const w of words(answer)) push(w, 'answer');
  tokens.push({ pos: position(EOS.token, EOS.id, next, uncertain), role: 'eos', text: '' });
  const length = tokens.length > maxTokens;
  return { kind, thinking: thinking ? THINKING : null, answer, tokens: tokens.slice(0, maxTokens), length };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export async function startVariantServer(options: VariantServerOptions): Promise<VariantServer> {
  const { profile } = options;
  const model = options.model ?? 'Qwen/Qwen3-1.7B';
  const stepMs = options.stepMs ?? 2;
  let active = 0;
  const waiters: Array<() => void> = [];
  const main = profile === 'main-2026';
  const maxLogprobs = profile === 'max-logprobs-20' ? 20 : 64;
  const requests: ServedRequest[] = [];
  const rejected = { unauthorized: 0, badRequest: 0 };
  const failedOnce = new Set<string>();
  let created = 1767225600;

  const json = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  async function generate(req: IncomingMessage, res: ServerResponse, endpoint: 'chat' | 'completions'): Promise<void> {
    const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    const requested =
      endpoint === 'chat'
        ? ((body['top_logprobs'] as number | undefined) ?? 0)
        : ((body['logprobs'] as number | undefined) ?? 0);
    if (requested > maxLogprobs) {
      rejected.badRequest++;
      // vLLM's own limit message; only the fixture's number fits the stock 20.
      return json(
        res,
        400,
        maxLogprobs === 20
          ? TOO_LARGE
          : JSON.stringify({
              error: {
                message: `Requested sample logprobs of ${requested}, which is greater than max allowed: ${maxLogprobs}`,
                type: 'BadRequestError',
                param: null,
                code: 400,
              },
            }),
      );
    }
    if (body['model'] !== model) {
      return json(
        res,
        404,
        JSON.stringify({
          error: {
            message: `The model \`${String(body['model'])}\` does not exist.`,
            type: 'NotFoundError',
            param: 'model',
            code: 404,
          },
        }),
      );
    }
    const messages = (body['messages'] as Array<{ role: string; content: string }> | undefined) ?? [];
    const prompt =
      endpoint === 'chat' ? (messages.filter((m) => m.role === 'user').at(-1)?.content ?? '') : String(body['prompt']);
    const seed = typeof body['seed'] === 'number' ? body['seed'] : null;
    const maxTokens =
      (body['max_completion_tokens'] as number | undefined) ?? (body['max_tokens'] as number | undefined) ?? 16;
    const thinkingOn =
      (body['chat_template_kwargs'] as { enable_thinking?: boolean } | undefined)?.enable_thinking === true;
    const parser = profile === 'think-parser' || main;
    const thinks =
      endpoint === 'chat' && thinkingOn && (profile === 'think-inline' || profile === 'think-implicit' || parser);
    const p = plan(prompt, seed, maxTokens, thinks, profile !== 'think-implicit');
    const record: ServedRequest = {
      endpoint,
      prompt,
      seed,
      probe: body['stream'] !== true,
      kind: p.kind,
      thinking: p.thinking,
      answer: p.answer,
      content: thinks && parser ? `\n\n${p.answer}` : p.answer,
      planned: p.tokens.length,
      delivered: [],
      finishReason: null,
      inBandError: false,
      aborted: false,
    };
    requests.push(record);
    const id = `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${hash(prompt + String(seed)).toString(16)}${requests.length}`;
    const t = created++;
    // A 2026 server may end a looping generation with "repetition"; mimic it on some seeds of compliant answers.
    const finishReason = p.length
      ? 'length'
      : main && p.kind === 'compliance' && hash(String(seed)) % 3 === 0
        ? 'repetition'
        : 'stop';

    if (body['stream'] !== true) {
      const first = p.tokens[0];
      if (first === undefined) throw new Error('empty plan');
      record.finishReason = 'length';
      const choice =
        endpoint === 'chat'
          ? {
              index: 0,
              message: { role: 'assistant', content: first.pos.sampled.token },
              logprobs: null,
              finish_reason: 'length',
              stop_reason: null,
            }
          : { index: 0, text: first.pos.sampled.token, logprobs: null, finish_reason: 'length', stop_reason: null };
      return json(
        res,
        200,
        JSON.stringify({
          id,
          object: endpoint === 'chat' ? 'chat.completion' : 'text_completion',
          created: t,
          model,
          choices: [choice],
          usage: { prompt_tokens: 9, total_tokens: 10, completion_tokens: 1 },
        }),
      );
    }

    const topN = endpoint === 'chat' ? requested : 0;
    const asIds = body['return_tokens_as_token_ids'] === true;
    const name = (a: { token: string; id: number }) => (asIds ? `token_id:${a.id}` : a.token);
    let closed = false;
    res.on('close', () => {
      if (record.finishReason === null) {
        closed = true;
        record.aborted = true;
      }
    });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const send = (obj: unknown) => res.write(`data: ${dumps(obj)}\n\n`);

    if (endpoint === 'chat') {
      send({
        id,
        object: 'chat.completion.chunk',
        created: t,
        model,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
        prompt_token_ids: null,
        ...(main ? { prompt_text: null } : {}),
      });
    }
    // Steps: one token each, or 1-3 merged tokens for a lagging consumer.
    const steps: Plan['tokens'][] = [];
    const stepRng = rng(hash(prompt) ^ 77);
    for (let i = 0; i < p.tokens.length; ) {
      const n = profile === 'lagging' ? 1 + Math.floor(stepRng() * 3) : 1;
      steps.push(p.tokens.slice(i, i + n));
      i += n;
    }
    let held = '';
    let textLen = 0;
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s] ?? [];
      await new Promise((r) => setTimeout(r, stepMs));
      // Like vLLM's abort on disconnect: generation stops at the next step, so `delivered` shows how far it got.
      if (closed || res.destroyed) {
        record.aborted = true;
        break;
      }
      const errKey = `${prompt}\u0000${String(seed)}`;
      if (profile === 'v0.11' && endpoint === 'chat' && s === 3 && hash(errKey) % 5 === 0 && !failedOnce.has(errKey)) {
        // A mid-stream failure keeps HTTP 200: an error event written by Python json.dumps (spaces), then [DONE].
        failedOnce.add(errKey);
        record.inBandError = true;
        record.finishReason = 'error';
        res.write(
          'data: {"error": {"message": "EngineCore encountered an issue. See stack trace (above) for the root cause.", "type": "InternalServerError", "param": null, "code": 500}}\n\n',
        );
        res.end('data: [DONE]\n\n');
        return;
      }
      const last = s === steps.length - 1;
      const fin = last ? finishReason : null;
      const stepText = step.map((tk) => tk.text).join('');
      if (endpoint === 'chat') {
        const content = step.map((tk) => ({
          token: tk.pos.sampled.token,
          logprob: pf(tk.pos.sampled.logprob),
          bytes: bytes(tk.pos.sampled.token),
          top_logprobs: dict(tk.pos, topN)
            .slice(0, topN)
            .map((a) => ({ token: a.token, logprob: pf(a.logprob), bytes: bytes(a.token) })),
        }));
        let delta: Record<string, string>;
        let entries = content;
        if (parser && step[0] !== undefined && step[0].role !== 'answer' && step[0].role !== 'eos') {
          const role = step[0].role;
          if (role === 'think-open' || role === 'think-close') {
            // The parser returns None for a tag-only delta: v0.11 drops the chunk with its logprobs; 2026 main sends
            // `delta: {}` that still carries them.
            if (!main) entries = [];
            delta = {};
          } else {
            delta = { reasoning_content: stepText };
          }
        } else if (profile === 'lagging' && !last) {
          // Stop-string hold-back: logprobs go now, the text of this step trails one step behind.
          delta = { content: held };
          held = stepText;
        } else {
          delta = { content: held + stepText };
          held = '';
        }
        if (main && delta['reasoning_content'] !== undefined) delta = { reasoning: delta['reasoning_content'] };
        if (entries.length === 0 && !last) continue;
        const choice: Record<string, unknown> = {
          index: 0,
          delta,
          logprobs: entries.length === 0 ? null : { content: entries },
          finish_reason: fin,
        };
        if (last) choice['stop_reason'] = null;
        else choice['token_ids'] = null;
        for (const tk of step) if (entries.length > 0) record.delivered.push(served(tk.pos));
        send({
          id,
          object: 'chat.completion.chunk',
          created: t,
          model,
          choices: [choice],
          ...(last && main && body['stream_options'] === undefined ? { system_fingerprint: 'fp_vllm' } : {}),
        });
      } else {
        const offsets: number[] = [];
        let off = textLen;
        for (const tk of step) {
          offsets.push(off);
          // Python len: code points, not UTF-16 units.
          off += [...tk.pos.sampled.token].length;
        }
        textLen = off;
        const logprobs = {
          text_offset: offsets,
          token_logprobs: step.map((tk) => pf(tk.pos.sampled.logprob)),
          tokens: step.map((tk) => name(tk.pos.sampled)),
          top_logprobs: step.map((tk) =>
            Object.fromEntries(dict(tk.pos, requested).map((a) => [name(a), pf(a.logprob)])),
          ),
        };
        for (const tk of step) record.delivered.push(served(tk.pos));
        const chunk: Record<string, unknown> = {
          id,
          object: 'text_completion',
          created: t,
          model,
          choices: [
            {
              index: 0,
              text: stepText,
              logprobs,
              finish_reason: fin,
              stop_reason: null,
              prompt_token_ids: null,
              token_ids: null,
            },
          ],
        };
        if (!main) chunk['usage'] = null;
        send(chunk);
      }
    }
    if (closed || res.destroyed) return;
    record.finishReason = finishReason;
    const completion = p.tokens.length;
    send({
      id,
      object: endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: t,
      model,
      choices: [],
      usage: { prompt_tokens: 17, total_tokens: 17 + completion, completion_tokens: completion },
      ...(main ? { system_fingerprint: 'fp_vllm' } : {}),
    });
    res.end('data: [DONE]\n\n');
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    // vLLM's --api-key guards /v1/* only; /health and /version stay open.
    if (
      options.apiKey !== undefined &&
      path.startsWith('/v1') &&
      req.headers['authorization'] !== `Bearer ${options.apiKey}`
    ) {
      rejected.unauthorized++;
      return json(res, 401, JSON.stringify({ error: 'Unauthorized' }));
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-length': 0 });
      return res.end();
    }
    if (req.method === 'GET' && path === '/version')
      return json(res, 200, JSON.stringify({ version: main ? '0.14.1.dev212+g3a6f5e1' : '0.11.0' }));
    if (req.method === 'GET' && path === '/v1/models') {
      return json(
        res,
        200,
        JSON.stringify({
          object: 'list',
          data: [
            {
              id: model,
              object: 'model',
              created: 1767225600,
              owned_by: 'vllm',
              root: model,
              parent: null,
              max_model_len: 40960,
              permission: [],
            },
          ],
        }),
      );
    }
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      active++;
      generate(req, res, path === '/v1/chat/completions' ? 'chat' : 'completions')
        .catch((error: unknown) => {
          if (!res.headersSent)
            json(
              res,
              500,
              JSON.stringify({
                error: { message: String(error), type: 'InternalServerError', param: null, code: 500 },
              }),
            );
          else res.destroy();
        })
        .finally(() => {
          if (--active === 0) for (const w of waiters.splice(0)) w();
        });
      return;
    }
    json(res, 404, JSON.stringify({ detail: 'Not Found' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    rejected,
    idle: () => (active === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
