import {
  exactTopKConfidence,
  exactTopKValuesConfidence,
  isConfidenceError,
  tokenConfidence,
} from '@deepconf-safety/confidence';
import { alternativesList, ChatChunkScanner, ScannedTops, type Alternatives } from './chunk-scanner.js';
import { VllmClientError } from '../errors.js';
import { ChatChunkSchema, CompletionChunkSchema } from '../schemas.js';
import { ThinkingSplitter } from './thinking.js';
import type { EndpointKind, TopKMode, TopLogprob, Usage } from '../types.js';

export type { EndpointKind };

const protocolError = (message: string) => new VllmClientError('protocol', message);

/** vLLM's logprob for "-inf or no data" (vllm-protocol.md §1.3): the one value that may come without alternatives. */
const NO_DATA = -9999;

/**
 * Receives every token of the decoded choice. `tops` is the alternatives list as received (sampled token first),
 * empty when vLLM had no data; a scanned list is valid during the call only (`alternativesList` copies it).
 * Return true to stop at this token.
 */
export type TokenSink = (
  index: number,
  token: string,
  logprob: number,
  confidence: number,
  tops: Alternatives,
) => boolean;

export type FeedResult = 'more' | 'stop' | 'error';

const NO_TOPS: readonly TopLogprob[] = Object.freeze([]);

/**
 * Turns parsed stream chunks of one choice into tokens, confidences and text. Chunks are checked fully with zod when
 * they are rare or first of their kind (first chunk, first chunk with logprobs, finish and usage chunks) and
 * structurally otherwise, so validation stays off the hot path; anything malformed raises a ProtocolError.
 */
export class TraceDecoder {
  readonly #kind: EndpointKind;
  readonly #k: number;
  readonly #mode: TopKMode;
  /** The K values of a chat-view position, reused per token. */
  readonly #view: Float64Array;
  readonly #choice: number;
  readonly #sink: TokenSink;
  readonly splitter: ThinkingSplitter;
  readonly #scanner: ChatChunkScanner | null;
  #chunks = 0;
  /** Payloads read by the chunk scanner rather than JSON.parse (see feedPayload). */
  scannedChunks = 0;
  #sawLogprobs = false;
  #confs = new Float64Array(256);
  /** Per entry of the chunk being read, where its text ends in the chunk's text (see #textEnds). */
  #ends = new Int32Array(16);
  #confCount = 0;
  tokens = 0;
  stoppedAt: number | null = null;
  serverFinishReason: string | null = null;
  stopReason: number | string | null = null;
  usage: Usage | null = null;
  /** The raw `{"error": …}` event, when the stream carried one. */
  inBandError: unknown = null;
  /** True once the server sent a token past `maxTokens`: the trace was stopped there, as if it had finished 'length'. */
  overran = false;
  readonly #maxTokens: number;

  constructor(options: {
    kind: EndpointKind;
    k: number;
    thinking: boolean;
    sink: TokenSink;
    choiceIndex?: number;
    topKMode?: TopKMode;
    /** The request's max_tokens: tokens beyond it are not counted, whatever the server does (default: no cap). */
    maxTokens?: number;
  }) {
    this.#maxTokens = options.maxTokens ?? Infinity;
    this.#kind = options.kind;
    this.#k = options.k;
    this.#mode = options.topKMode ?? 'exact';
    this.#view = new Float64Array(this.#mode === 'chat-view' ? options.k : 0);
    this.#choice = options.choiceIndex ?? 0;
    this.#sink = options.sink;
    this.splitter = new ThinkingSplitter(options.thinking);
    this.#scanner = this.#kind === 'chat' ? new ChatChunkScanner() : null;
  }

  get confidences(): Float64Array {
    return this.#confs.slice(0, this.#confCount);
  }

  /**
   * Process one `data:` payload as received (not `[DONE]`). Plain chat token chunks go through the chunk scanner once
   * the first chunk and the first chunk with logprobs have been parsed and checked in full; everything else, and
   * whatever the scanner declines, through JSON.parse. Throws a ProtocolError when the payload is not JSON.
   */
  feedPayload(payload: string): FeedResult {
    if (this.#scanner !== null && this.#sawLogprobs && this.#chunks > 0) {
      const scanned = this.#scanner.scan(payload);
      if (scanned !== null) {
        this.scannedChunks++;
        // What feed() would do with it: the scanner returns only plain token chunks (no error, usage or finish reason,
        // exactly one choice), and the chunks that need zod have passed already.
        const n = this.#chunks++;
        const choice = scanned.choices[0];
        if (choice.index !== this.#choice) return 'more';
        return this.#chatChoice(choice as unknown as Record<string, unknown>, n) ? 'stop' : 'more';
      }
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(payload);
    } catch {
      throw protocolError(
        `stream chunk ${this.#chunks} is an event that is not JSON: ${JSON.stringify(payload.slice(0, 120))}`,
      );
    }
    return this.feed(chunk);
  }

  /** Process one parsed `data:` payload (not `[DONE]`). */
  feed(chunk: unknown): FeedResult {
    const n = this.#chunks++;
    if (typeof chunk !== 'object' || chunk === null) throw protocolError(`stream chunk ${n} is not a JSON object`);
    const c = chunk as { choices?: unknown; usage?: unknown; error?: unknown; object?: unknown };
    if ((c.error !== undefined && c.error !== null) || c.object === 'error') {
      this.inBandError = chunk;
      return 'error';
    }
    const choices = c.choices;
    if (!Array.isArray(choices)) throw protocolError(`stream chunk ${n} has no "choices" array`);
    if (this.#needsFullCheck(choices) || n === 0 || (c.usage !== null && c.usage !== undefined))
      this.#validate(chunk, n);
    if (c.usage !== null && c.usage !== undefined) {
      const u = c.usage as { prompt_tokens: number; completion_tokens?: number | null; total_tokens: number };
      this.usage = {
        promptTokens: u.prompt_tokens,
        completionTokens: u.completion_tokens ?? u.total_tokens - u.prompt_tokens,
        totalTokens: u.total_tokens,
      };
    }
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i] as Record<string, unknown> | null;
      if (choice === null || typeof choice !== 'object')
        throw protocolError(`stream chunk ${n}: choice ${i} is not an object`);
      if ((choice['index'] ?? 0) !== this.#choice) continue;
      const stop = this.#kind === 'chat' ? this.#chatChoice(choice, n) : this.#completionChoice(choice, n);
      if (stop) return 'stop';
      const finish = choice['finish_reason'];
      if (typeof finish === 'string') {
        this.serverFinishReason = finish;
        const sr = choice['stop_reason'];
        this.stopReason = typeof sr === 'number' || typeof sr === 'string' ? sr : null;
      }
    }
    return 'more';
  }

  #needsFullCheck(choices: unknown[]): boolean {
    for (const ch of choices) {
      const choice = ch as { logprobs?: unknown; finish_reason?: unknown } | null;
      if (choice === null || typeof choice !== 'object') return true;
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) return true;
      if (!this.#sawLogprobs && choice.logprobs !== null && choice.logprobs !== undefined) {
        this.#sawLogprobs = true;
        return true;
      }
    }
    return false;
  }

  #validate(chunk: unknown, n: number): void {
    const schema = this.#kind === 'chat' ? ChatChunkSchema : CompletionChunkSchema;
    const result = schema.safeParse(chunk);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue === undefined ? '' : ` at ${issue.path.join('.') || '(root)'}: ${issue.message}`;
      throw protocolError(`stream chunk ${n} is not a valid ${this.#kind} chunk${where}`);
    }
  }

  #chatChoice(choice: Record<string, unknown>, n: number): boolean {
    const delta = choice['delta'] as
      | { content?: unknown; reasoning?: unknown; reasoning_content?: unknown }
      | null
      | undefined;
    let reasoning = '';
    let text = '';
    if (delta !== null && delta !== undefined) {
      const r = delta.reasoning ?? delta.reasoning_content;
      if (typeof r === 'string') reasoning = r;
      if (typeof delta.content === 'string') text = delta.content;
    }
    const texts = reasoning.length > 0 || text.length > 0;
    const lp = choice['logprobs'] as { content?: unknown } | null | undefined;
    const content = lp === null || lp === undefined ? null : lp.content;
    if (content === null || content === undefined) {
      if (texts) throw this.#textWithoutLogprobs(n);
      return false;
    }
    if (!Array.isArray(content)) throw protocolError(`stream chunk ${n}: logprobs.content is not an array`);
    const perToken = texts && this.#textEnds(content, chatToken, reasoning, text);
    if (texts && !perToken) this.#addText(reasoning, text, 0, reasoning.length + text.length);
    for (let j = 0; j < content.length; j++) {
      const e = content[j] as { token?: unknown; logprob?: unknown; top_logprobs?: unknown };
      const logprob = e.logprob;
      if (typeof logprob !== 'number')
        throw protocolError(`stream chunk ${n}: logprobs.content[${j}].logprob is not a number`);
      if (!(logprob <= 0))
        throw protocolError(`stream chunk ${n}: logprobs.content[${j}].logprob is ${logprob}; a logprob is ≤ 0`);
      const tops = e.top_logprobs;
      let list: Alternatives = NO_TOPS;
      let confidence = NaN;
      if (tops === null || tops === undefined) throw this.#missingTops(n, j, 'no top_logprobs');
      {
        const scanned = tops instanceof ScannedTops;
        if (!scanned && !Array.isArray(tops))
          throw protocolError(`stream chunk ${n}: logprobs.content[${j}].top_logprobs is not an array`);
        list = tops as Alternatives;
        if (list.length === 0 && logprob !== NO_DATA) throw this.#missingTops(n, j, 'an empty top_logprobs list');
        if (list.length > 0) {
          if (scanned ? tops.positive : hasPositive(tops as TopLogprob[])) {
            throw protocolError(
              `stream chunk ${n}: logprobs.content[${j}].top_logprobs holds a logprob > 0 or NaN; a logprob is ≤ 0`,
            );
          }
          const exact = this.#mode === 'exact';
          if (list.length < (exact ? this.#k + 1 : this.#k)) {
            throw protocolError(
              exact
                ? `stream chunk ${n}: logprobs.content[${j}] has ${list.length} alternatives, but exact top-${this.#k} needs ${this.#k + 1}; does the server cap top_logprobs below ${this.#k + 1}? (topKMode 'chat-view' needs only ${this.#k})`
                : `stream chunk ${n}: logprobs.content[${j}] has ${list.length} alternatives, but the chat-view top-${this.#k} confidence needs ${this.#k}; does the server cap top_logprobs below ${this.#k}?`,
            );
          }
          // The confidence functions check every value they read, so the hot path needs no second pass over the list.
          try {
            if (scanned)
              confidence = exact
                ? exactTopKValuesConfidence(tops.values, this.#k, tops.length)
                : this.#viewConfidence(tops, n, j);
            else
              confidence = exact
                ? exactTopKConfidence(tops as TopLogprob[], this.#k)
                : this.#viewConfidence(tops as TopLogprob[], n, j);
          } catch (err) {
            if (!isConfidenceError(err)) throw err;
            throw protocolError(`stream chunk ${n}: logprobs.content[${j}].top_logprobs: ${err.message}`);
          }
        }
      }
      // The token's own text goes in just before the sink sees it (and not if it is past maxTokens).
      if (perToken && this.tokens < this.#maxTokens) this.#addTokenText(reasoning, text, j);
      if (this.#token(typeof e.token === 'string' ? e.token : '', logprob, list, confidence)) return true;
    }
    return false;
  }

  /**
   * Where each entry's text ends in the chunk's text (reasoning, then content), so a trace stopped inside a chunk keeps
   * the text of its tokens up to the stop and not the rest of the chunk: how many tokens one chunk carries depends on
   * timing (vLLM merges deltas when the client falls behind, §1.5), so the recorded text must not. One entry owns all
   * of the chunk's text. Several: each token string found in turn in the text owns it; one not found there (a special
   * token, a `<think>` tag a reasoning parser took out) owns none. When the token strings do not add up to exactly
   * the text (held-back text, `Ġ`-style pieces, partial UTF-8), false: the chunk's text is taken whole, before its
   * first token, as it arrived.
   */
  #textEnds(
    entries: readonly unknown[],
    tokenAt: (entries: readonly unknown[], j: number) => unknown,
    reasoning: string,
    text: string,
  ): boolean {
    const m = entries.length;
    const total = reasoning.length + text.length;
    if (m === 0) return false;
    if (this.#ends.length < m) this.#ends = new Int32Array(Math.max(m, 2 * this.#ends.length));
    const ends = this.#ends;
    if (m === 1) {
      ends[0] = total;
      return true;
    }
    let pos = 0;
    for (let j = 0; j < m; j++) {
      const t = tokenAt(entries, j);
      if (typeof t === 'string' && t.length > 0 && pos + t.length <= total && this.#textAt(reasoning, text, pos, t))
        pos += t.length;
      ends[j] = pos;
    }
    return pos === total;
  }

  /** Adds entry j's text (see #textEnds) to the splitter. */
  #addTokenText(reasoning: string, text: string, j: number): void {
    this.#addText(reasoning, text, j === 0 ? 0 : (this.#ends[j - 1] as number), this.#ends[j] as number);
  }

  /** Whether the chunk's text (reasoning, then content) holds `token` at `pos`. */
  #textAt(reasoning: string, text: string, pos: number, token: string): boolean {
    const r = reasoning.length;
    if (pos >= r) return text.startsWith(token, pos - r);
    if (pos + token.length <= r) return reasoning.startsWith(token, pos);
    return reasoning.endsWith(token.slice(0, r - pos)) && text.startsWith(token.slice(r - pos));
  }

  /** Adds `[from, to)` of the chunk's text (reasoning, then content) to the splitter. */
  #addText(reasoning: string, text: string, from: number, to: number): void {
    if (from >= to) return;
    const r = reasoning.length;
    if (from < r) this.splitter.addReasoning(reasoning.slice(from, Math.min(to, r)));
    if (to > r) this.splitter.addContent(text.slice(Math.max(0, from - r), to - r));
  }

  /** A chunk with text but no logprobs: the server was asked for logprobs on every token, so tokens went missing. */
  #textWithoutLogprobs(n: number): VllmClientError {
    return protocolError(
      `stream chunk ${n} has text but "logprobs": null; every token's logprobs were asked for (a reasoning parser with include_reasoning false, or a proxy, drops them)`,
    );
  }

  #missingTops(n: number, j: number, what: string): VllmClientError {
    const asked = this.#kind === 'chat' && this.#mode === 'exact' ? this.#k + 1 : this.#k;
    return protocolError(
      `stream chunk ${n}: token ${this.tokens + j} has ${what} (${asked} asked for); its confidence cannot be computed`,
    );
  }

  /** Mean over the first K entries as received (sampled first), summed in that order like the official dict's mean. */
  #viewConfidence(list: Alternatives, n: number, j: number): number {
    const view = this.#view;
    const scanned = list instanceof ScannedTops ? list : null;
    for (let i = 0; i < view.length; i++) {
      const value = scanned !== null ? scanned.logprob(i) : ((list as readonly TopLogprob[])[i] as TopLogprob).logprob;
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw protocolError(
          `stream chunk ${n}: logprobs.content[${j}].top_logprobs[${i}].logprob must be a number, got ${String(value)}`,
        );
      }
      view[i] = value;
    }
    return tokenConfidence(view);
  }

  #completionChoice(choice: Record<string, unknown>, n: number): boolean {
    const raw = choice['text'];
    const text = typeof raw === 'string' ? raw : '';
    const lp = choice['logprobs'] as
      | { tokens?: unknown; token_logprobs?: unknown; top_logprobs?: unknown }
      | null
      | undefined;
    if (lp === null || lp === undefined) {
      if (text.length > 0) throw this.#textWithoutLogprobs(n);
      return false;
    }
    const { tokens, token_logprobs: lps, top_logprobs: tops } = lp;
    if (!Array.isArray(tokens) || !Array.isArray(lps))
      throw protocolError(`stream chunk ${n}: logprobs.tokens/token_logprobs are not arrays`);
    const perToken = text.length > 0 && this.#textEnds(tokens, completionToken, '', text);
    if (text.length > 0 && !perToken) this.splitter.addContent(text);
    for (let j = 0; j < tokens.length; j++) {
      const token = tokens[j];
      const logprob = lps[j];
      if (typeof token !== 'string') throw protocolError(`stream chunk ${n}: logprobs.tokens[${j}] is not a string`);
      if (logprob !== null && typeof logprob !== 'number')
        throw protocolError(`stream chunk ${n}: logprobs.token_logprobs[${j}] is not a number`);
      if (logprob !== null && !(logprob <= 0))
        throw protocolError(`stream chunk ${n}: logprobs.token_logprobs[${j}] is ${logprob}; a logprob is ≤ 0`);
      const dict = Array.isArray(tops) ? (tops[j] as Record<string, unknown> | null | undefined) : null;
      if (logprob !== null && logprob !== NO_DATA && (dict === null || dict === undefined))
        throw this.#missingTops(n, j, 'no top_logprobs');
      let list: readonly TopLogprob[] = NO_TOPS;
      let confidence = NaN;
      if (logprob !== null && dict !== null && dict !== undefined) {
        // JS lists integer-like keys first, so rebuild "sampled first" from tokens/token_logprobs, not from key order.
        const built: TopLogprob[] = [{ token, logprob }];
        for (const key in dict) {
          if (key === token) continue;
          const v = dict[key];
          if (typeof v !== 'number' || !(v <= 0)) {
            throw protocolError(
              `stream chunk ${n}: logprobs.top_logprobs[${j}][${JSON.stringify(key)}] is ${String(v)}, not a logprob ≤ 0`,
            );
          }
          built.push({ token: key, logprob: v });
        }
        list = built;
        // The completions dict already is the reference set (K entries, or K+1 when the sampled token is not in the top K).
        confidence = tokenConfidence(built.map((t) => t.logprob));
      }
      if (perToken && this.tokens < this.#maxTokens) this.#addTokenText('', text, j);
      if (this.#token(token, logprob ?? -9999, list, confidence)) return true;
    }
    return false;
  }

  #token(token: string, logprob: number, tops: Alternatives, confidence: number): boolean {
    if (this.tokens >= this.#maxTokens) {
      this.overran = true;
      return true;
    }
    const index = this.tokens++;
    if (tops.length > 0) {
      if (this.#confCount === this.#confs.length) {
        const grown = new Float64Array(this.#confs.length * 2);
        grown.set(this.#confs);
        this.#confs = grown;
      }
      this.#confs[this.#confCount++] = confidence;
    }
    if (this.#sink(index, token, logprob, confidence, tops)) {
      this.stoppedAt = index;
      return true;
    }
    return false;
  }
}

/** The token string of entry j of a chat chunk's `logprobs.content` (for #textEnds). */
const chatToken = (entries: readonly unknown[], j: number): unknown => (entries[j] as { token?: unknown }).token;
/** The token string of entry j of a completions chunk's `logprobs.tokens`. */
const completionToken = (tokens: readonly unknown[], j: number): unknown => tokens[j];

/** Whether a parsed list holds a logprob that is not ≤ 0 (positive or NaN); the scanner tracks this as it reads. */
function hasPositive(list: readonly TopLogprob[]): boolean {
  for (let i = 0; i < list.length; i++) if (!((list[i] as TopLogprob).logprob <= 0)) return true;
  return false;
}

/**
 * The alternatives the confidence averages, sorted by logprob (descending). `exact`: the exact-top-K rule of
 * exactTopK (K entries if the sampled token ranks within the top K, a tie with the K-th counting as within, else K+1).
 * `chat-view`: the first K entries as received. The sampled token comes first among equal logprobs.
 */
export function sortedTopK(alternatives: Alternatives, k: number, mode: TopKMode = 'exact'): TopLogprob[] {
  const tops = alternativesList(alternatives);
  const copy = (t: TopLogprob): TopLogprob => ({ token: t.token, logprob: t.logprob });
  const byLogprob = (a: TopLogprob, b: TopLogprob) => b.logprob - a.logprob;
  if (mode === 'chat-view') return tops.slice(0, k).map(copy).sort(byLogprob);
  const sampled = tops[0];
  if (sampled === undefined) return [];
  // Stable sorts throughout, so equal values keep list order (sampled first) and match exactTopK's choice.
  const others = tops.slice(1).map(copy).sort(byLogprob);
  const othersAbove = others.filter((t) => t.logprob > sampled.logprob).length;
  return [copy(sampled), ...others.slice(0, othersAbove < k ? k - 1 : k)].sort(byLogprob);
}
