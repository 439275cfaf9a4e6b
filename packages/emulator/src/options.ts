import { EmulatorOptionError } from './errors.js';
import { judgeOptionProblem, type JudgeEmulationOptions } from './judge.js';

/** Faults injected on demand for reliability tests. Rates are per request, deterministic in the server seed. */
export interface FaultOptions {
  /** Accept each TCP connection and reset it at once (clients see ECONNRESET / "socket hang up"). */
  readonly refuseConnections?: boolean;
  /** Share of generation requests answered with HTTP 429 (0–1). */
  readonly status429Rate?: number;
  /** Share of generation requests answered with HTTP 500 (0–1). */
  readonly status500Rate?: number;
  /** Destroy the socket after this many tokens of a request (no `[DONE]`): a stream cut mid-way. */
  readonly cutStreamAfterTokens?: number;
  /** Send an in-band `{"error": ...}` event and `[DONE]` after this many tokens (HTTP status stays 200). */
  readonly errorEventAfterTokens?: number;
  /** ≥ 1: time to first token × factor, decode speed ÷ factor (for requests received while set). */
  readonly slowFactor?: number;
  /** `/health` answers 503, as vLLM does after EngineDeadError (static faults only, not from a hook). */
  readonly unhealthy?: boolean;
}

/** What a per-request fault hook sees. */
export interface FaultContext {
  /** 0-based count of generation requests received so far (this one included). */
  readonly requestIndex: number;
  readonly path: string;
  /** Parsed JSON body (untrusted). */
  readonly body: unknown;
}

/** Per-request fault decision; `undefined` = no fault. */
export type FaultHook = (ctx: FaultContext) => FaultOptions | undefined;

export interface EmulatorOptions {
  /** TCP port; 0 (default) = an ephemeral free port. */
  readonly port?: number;
  /** Listen address; loopback (127.0.0.1) by default. Anything else needs `allowRemote`. */
  readonly host?: string;
  /** Allow a non-loopback `host` (the emulator has no TLS and an optional API key only). */
  readonly allowRemote?: boolean;
  /** Served model name (`--served-model-name`). Default 'Qwen/Qwen3-1.7B' (or the first of `servedModels`). */
  readonly model?: string;
  /**
   * Several served model names (as a production-stack router serving several models). Each behaves according to
   * its name (see `profileOf`); a request without `model` gets the first. `model`, when given too, is served as well.
   */
  readonly servedModels?: readonly string[];
  /** Seed of the synthetic model: same seed, prompt and trace index give the same trace. Default 0. */
  readonly seed?: number;
  /** Time to first token after a request is admitted to the batch, ms. Default 0. */
  readonly ttftMs?: number;
  /** Decode speed per sequence, tokens/s; Infinity (default) = as fast as possible. */
  readonly tokensPerSecond?: number;
  /** Sequences decoded at once (vLLM --max-num-seqs); further requests queue. Default 256. */
  readonly maxNumSeqs?: number;
  /** Largest top_logprobs/logprobs accepted (vLLM --max-logprobs). Default 20, at most 40. */
  readonly maxLogprobs?: number;
  /** Context length reported in /v1/models and enforced on prompt + max tokens. Default 40960. */
  readonly maxModelLen?: number;
  /** When set, /v1/* requires `Authorization: Bearer <apiKey>` (401 otherwise), like vLLM --api-key. */
  readonly apiKey?: string;
  /** Static faults, or a hook deciding per request. Change later with `handle.setFaults()`. */
  readonly faults?: FaultOptions | FaultHook;
  /** Emulate `--reasoning-parser qwen3`: `<think>` text goes to a separate delta key. Default: off (all in content). */
  readonly reasoningParser?: 'qwen3' | null;
  /** Delta key for reasoning text with a reasoning parser: v0.10–0.11 'reasoning_content' (default), 2026 'reasoning'. */
  readonly reasoningField?: 'reasoning_content' | 'reasoning';
  /** Qwen3 thinks unless `chat_template_kwargs.enable_thinking` is false. Default true. */
  readonly thinkingByDefault?: boolean;
  /** > 1: chunks carry 1..N tokens (as with speculative decoding or a lagging consumer). Default 1. */
  readonly maxTokensPerChunk?: number;
  /** Text trails logprobs by this many tokens (vLLM's stop-string hold-back): chunks with logprobs but `content:""`. Default 0. */
  readonly textLagTokens?: number;
  /**
   * Tokens per sequence an aborted request still generates (counted in vllm:generation_tokens_total, never sent),
   * as vLLM keeps decoding until it notices a disconnect. Default 0: the emulator stops at once.
   */
  readonly abortLagTokens?: number;
  /**
   * Share (0–1) of token positions whose top-logprobs tail is vLLM's −inf clamp, −9999.0, as with
   * processed logprobs or a structured-output mask. Raw logprobs over a real vocabulary never show it
   * in the top 20, so the default is 0; set it to test clients against the edge case.
   */
  readonly clampRate?: number;
  /** Answer a too-large top_logprobs on a stream with HTTP 200 + in-band error (v0.10 / 2026 main) instead of 400 (v0.11). */
  readonly validationErrorsInBand?: boolean;
  /** Monotonic clock in ms (injected for tests). Default performance.now. */
  readonly now?: () => number;
  /** Log sink for one-line request logs; default none. Never receives the API key. */
  readonly log?: (line: string) => void;
  /** The emulated judge (requests in a known judge format): its error and unparsable-answer rates. */
  readonly judge?: JudgeEmulationOptions;
}

export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  /** The default model (requests without `model`), also first in `models`. */
  readonly model: string;
  /** Every served model name, `model` first. */
  readonly models: readonly string[];
  readonly seed: number;
  readonly ttftMs: number;
  readonly tokensPerSecond: number;
  readonly maxNumSeqs: number;
  readonly maxLogprobs: number;
  readonly maxModelLen: number;
  readonly apiKey: string | null;
  readonly reasoningKey: 'reasoning_content' | 'reasoning' | null;
  readonly thinkingByDefault: boolean;
  readonly maxTokensPerChunk: number;
  readonly textLagTokens: number;
  readonly abortLagTokens: number;
  readonly validationErrorsInBand: boolean;
  readonly clampRate: number;
  readonly now: () => number;
  readonly log: ((line: string) => void) | null;
  readonly judge: JudgeEmulationOptions;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function check(ok: boolean, option: string, detail: string): void {
  if (!ok) throw new EmulatorOptionError(option, detail);
}

/** Where it listens: loopback unless remote listening is asked for by name. */
function resolveListener(o: EmulatorOptions): { port: number; host: string } {
  const port = o.port ?? 0;
  check(
    Number.isInteger(port) && port >= 0 && port <= 65535,
    'port',
    `must be an integer 0–65535 (0 = ephemeral), got ${String(o.port)}`,
  );
  const host = o.host ?? '127.0.0.1';
  check(
    LOOPBACK.test(host) || o.allowRemote === true,
    'host',
    `"${host}" is not a loopback address; pass allowRemote: true (CLI --allow-remote) to listen on it`,
  );
  return { port, host };
}

/** Time to first token and generation speed. */
function resolveTiming(o: EmulatorOptions): { ttftMs: number; tokensPerSecond: number } {
  const ttftMs = o.ttftMs ?? 0;
  check(Number.isFinite(ttftMs) && ttftMs >= 0, 'ttftMs', `must be a finite number ≥ 0, got ${String(o.ttftMs)}`);
  const tps = o.tokensPerSecond ?? Infinity;
  check(tps > 0, 'tokensPerSecond', `must be > 0 (Infinity = as fast as possible), got ${String(o.tokensPerSecond)}`);
  return { ttftMs, tokensPerSecond: tps };
}

/** vLLM's server limits: concurrent sequences, top logprobs and context length. */
function resolveLimits(o: EmulatorOptions): { maxNumSeqs: number; maxLogprobs: number; maxModelLen: number } {
  const maxNumSeqs = o.maxNumSeqs ?? 256;
  check(
    Number.isInteger(maxNumSeqs) && maxNumSeqs >= 1,
    'maxNumSeqs',
    `must be an integer ≥ 1, got ${String(o.maxNumSeqs)}`,
  );
  const maxLogprobs = o.maxLogprobs ?? 20;
  check(
    Number.isInteger(maxLogprobs) && maxLogprobs >= 0 && maxLogprobs <= 40,
    'maxLogprobs',
    `must be an integer 0–40, got ${String(o.maxLogprobs)}`,
  );
  const maxModelLen = o.maxModelLen ?? 40960;
  check(
    Number.isInteger(maxModelLen) && maxModelLen >= 16,
    'maxModelLen',
    `must be an integer ≥ 16, got ${String(o.maxModelLen)}`,
  );
  return { maxNumSeqs, maxLogprobs, maxModelLen };
}

/** How the stream is cut: tokens per chunk, and how far text may lag behind its logprobs. */
function resolveChunking(
  o: EmulatorOptions,
): Pick<ResolvedOptions, 'maxTokensPerChunk' | 'textLagTokens' | 'abortLagTokens'> {
  const perChunk = o.maxTokensPerChunk ?? 1;
  check(
    Number.isInteger(perChunk) && perChunk >= 1 && perChunk <= 64,
    'maxTokensPerChunk',
    `must be an integer 1–64, got ${String(o.maxTokensPerChunk)}`,
  );
  const lag = o.textLagTokens ?? 0;
  check(
    Number.isInteger(lag) && lag >= 0 && lag <= 64,
    'textLagTokens',
    `must be an integer 0–64, got ${String(o.textLagTokens)}`,
  );
  const abortLag = o.abortLagTokens ?? 0;
  check(
    Number.isInteger(abortLag) && abortLag >= 0 && abortLag <= 4096,
    'abortLagTokens',
    `must be an integer 0–4096, got ${String(o.abortLagTokens)}`,
  );
  return { maxTokensPerChunk: perChunk, textLagTokens: lag, abortLagTokens: abortLag };
}

/** Validates options and fills defaults; throws EmulatorOptionError naming the option. */
export function resolveOptions(o: EmulatorOptions): ResolvedOptions {
  const listener = resolveListener(o);
  const models = resolveModels(o);
  const model = models[0] as string;
  const seed = o.seed ?? 0;
  check(Number.isSafeInteger(seed), 'seed', `must be an integer, got ${String(o.seed)}`);
  const timing = resolveTiming(o);
  const limits = resolveLimits(o);
  check(
    o.apiKey === undefined || o.apiKey.length > 0,
    'apiKey',
    'must be non-empty when given (omit it to disable auth)',
  );
  const chunking = resolveChunking(o);
  const clampRate = o.clampRate ?? 0;
  check(clampRate >= 0 && clampRate <= 1, 'clampRate', `must be a share between 0 and 1, got ${String(o.clampRate)}`);
  if (o.faults !== undefined && typeof o.faults !== 'function') validateFaults(o.faults);
  const judgeProblem = judgeOptionProblem(o.judge);
  check(judgeProblem === null, 'judge', judgeProblem ?? '');
  return {
    ...listener,
    model,
    models,
    seed,
    ...timing,
    ...limits,
    apiKey: o.apiKey ?? null,
    reasoningKey: o.reasoningParser === 'qwen3' ? (o.reasoningField ?? 'reasoning_content') : null,
    thinkingByDefault: o.thinkingByDefault ?? true,
    ...chunking,
    validationErrorsInBand: o.validationErrorsInBand ?? false,
    clampRate,
    now: o.now ?? (() => performance.now()),
    log: o.log ?? null,
    judge: o.judge ?? {},
  };
}

function resolveModels(o: EmulatorOptions): string[] {
  const served = o.servedModels ?? [];
  check(
    o.servedModels === undefined || served.length > 0,
    'servedModels',
    'must list at least one model name when given',
  );
  const models = [...(o.model === undefined ? [] : [o.model]), ...served];
  if (models.length === 0) models.push('Qwen/Qwen3-1.7B');
  for (const m of models)
    check(m.trim().length > 0, o.model === m ? 'model' : 'servedModels', 'must be a non-empty served model name');
  return [...new Set(models)];
}

/** Throws EmulatorOptionError for an out-of-range fault setting. */
export function validateFaults(f: FaultOptions): void {
  for (const key of ['status429Rate', 'status500Rate'] as const) {
    const v = f[key];
    check(v === undefined || (v >= 0 && v <= 1), `faults.${key}`, `must be a share between 0 and 1, got ${String(v)}`);
  }
  for (const key of ['cutStreamAfterTokens', 'errorEventAfterTokens'] as const) {
    const v = f[key];
    check(
      v === undefined || (Number.isInteger(v) && v >= 0),
      `faults.${key}`,
      `must be an integer ≥ 0, got ${String(v)}`,
    );
  }
  check(
    f.slowFactor === undefined || (Number.isFinite(f.slowFactor) && f.slowFactor >= 1),
    'faults.slowFactor',
    `must be a finite number ≥ 1, got ${String(f.slowFactor)}`,
  );
}
