/**
 * A strict, shape-specific reader for vLLM's plain chat token chunks, the one payload the hot path sees thousands of
 * times per trace. JSON.parse builds every key, string and `bytes` array of the K+1 alternatives; this reads only
 * what the decoder uses: the alternatives' logprobs go into a reused Float64Array and their tokens stay spans of the
 * payload until someone asks for them (streamTrace does, the stop check does not). It accepts a subset of JSON and
 * returns null for anything outside it — whitespace, unknown keys in a choice or delta, nested values in unknown
 * fields, duplicate keys, a finish_reason, usage, errors, malformed literals — so the caller falls back to JSON.parse
 * and the decoder's checks. Numbers are read with Number() on a slice that matched JSON's number grammar, which
 * rounds exactly as JSON.parse.
 *
 * vLLM writes its keys in one order; that layout is matched with literal comparisons (no key strings, no regex), and
 * any other order goes through a generic key loop, slower but as strict.
 */
import type { TopLogprob } from '../types.js';

/** Thrown internally to abandon the scan; never escapes the scanner. */
const GIVE_UP = Symbol('give up');

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const DOT = 46;

/**
 * The alternatives (`top_logprobs`) of one position as the scanner read them, in list order (sampled first). Owned
 * by the scanner and overwritten by its next payload: read it, or copy it with `list()`, before feeding another.
 */
export class ScannedTops {
  length = 0;
  /** Whether a logprob read is not ≤ 0 (positive; NaN cannot come from JSON): the decoder refuses the chunk. */
  positive = false;
  /** The logprobs; entries past `length` are stale. */
  values = new Float64Array(24);
  #spans = new Int32Array(48);
  #source = '';

  /** Starts a new list over `source` (the payload the spans index into). */
  reset(source: string): void {
    this.length = 0;
    this.positive = false;
    this.#source = source;
  }

  /** One entry: its token is `source[start, end)`, a JSON string's contents, checked valid by the scanner. */
  add(start: number, end: number, logprob: number): void {
    const i = this.length++;
    if (i === this.values.length) this.#grow();
    if (logprob > 0) this.positive = true;
    this.values[i] = logprob;
    this.#spans[2 * i] = start;
    this.#spans[2 * i + 1] = end;
  }

  logprob(i: number): number {
    return this.values[i] as number;
  }

  token(i: number): string {
    const raw = this.#source.slice(this.#spans[2 * i], this.#spans[2 * i + 1]);
    return raw.includes('\\') ? decodeEscapes(raw) : raw;
  }

  /** The list as JSON.parse would have given it (token and logprob of each entry). */
  list(): TopLogprob[] {
    const out = new Array<TopLogprob>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = { token: this.token(i), logprob: this.values[i] as number };
    return out;
  }

  #grow(): void {
    const n = this.values.length * 2;
    const values = new Float64Array(n);
    values.set(this.values);
    const spans = new Int32Array(2 * n);
    spans.set(this.#spans);
    this.values = values;
    this.#spans = spans;
  }
}

/** A position's alternatives: a parsed list, or the scanner's view of one. */
export type Alternatives = readonly TopLogprob[] | ScannedTops;

/** The alternatives as a plain list (a copy for scanned ones, which the scanner reuses). */
export function alternativesList(tops: Alternatives): readonly TopLogprob[] {
  return tops instanceof ScannedTops ? tops.list() : tops;
}

/** A content entry as scanned: what JSON.parse gives, with `top_logprobs` as the scanner's view. */
export type ScannedEntry = { token: string; logprob: number; top_logprobs?: ScannedTops | null };

/** What the scanner returns: the fields the decoder reads, with the values JSON.parse would give them. */
export type ScannedChunk = {
  choices: [
    {
      index: number;
      delta?: Record<string, string | null> | null;
      logprobs?: { content?: ScannedEntry[] | null } | null;
      finish_reason: null;
      stop_reason?: string | number | null;
    },
  ];
};

class Cursor {
  pos = 0;
  /** Whether the last string read had escapes. */
  escaped = false;
  constructor(readonly s: string) {}

  expect(code: number): void {
    if (this.s.charCodeAt(this.pos) !== code) throw GIVE_UP;
    this.pos++;
  }

  /** Consumes `code` when it is next. */
  eat(code: number): boolean {
    if (this.s.charCodeAt(this.pos) !== code) return false;
    this.pos++;
    return true;
  }

  eatLiteral(word: string): boolean {
    if (!this.s.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  /** Skips a string at the cursor; returns the index just past its opening quote (its contents start there). */
  skipString(): number {
    this.expect(QUOTE);
    const start = this.pos;
    this.pos = stringEnd(this, start) + 1;
    return start;
  }

  string(): string {
    const start = this.skipString();
    const raw = this.s.slice(start, this.pos - 1);
    return this.escaped ? decodeEscapes(raw) : raw;
  }

  number(): number {
    const start = this.pos;
    this.pos = numberEnd(this.s, start);
    return Number(this.s.slice(start, this.pos));
  }

  /** A string, number, boolean or null; objects and arrays in unknown places are beyond this reader. */
  primitive(): string | number | boolean | null {
    const c = this.s.charCodeAt(this.pos);
    if (c === QUOTE) return this.string();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
    if (this.eatLiteral('null')) return null;
    if (this.eatLiteral('true')) return true;
    if (this.eatLiteral('false')) return false;
    throw GIVE_UP;
  }

  /** Like primitive(), without building the value (ids, model names, timestamps). */
  skipPrimitive(): void {
    const c = this.s.charCodeAt(this.pos);
    if (c === QUOTE) this.skipString();
    else if (c === MINUS || (c >= ZERO && c <= NINE)) this.pos = numberEnd(this.s, this.pos);
    else if (!(this.eatLiteral('null') || this.eatLiteral('true') || this.eatLiteral('false'))) throw GIVE_UP;
  }

  /** null or an array of integers (vLLM's `bytes` and `token_ids`), skipped. */
  skipIntArrayOrNull(): void {
    this.pos = intArrayOrNullEnd(this.s, this.pos);
  }

  /**
   * Walks an object's keys, calling `field` with each key; the callback consumes the value. JSON.parse keeps the last
   * of duplicate keys, so each callback gives up when a key it uses comes twice (ignored keys may repeat).
   */
  object(field: (key: string) => void): void {
    this.expect(OPEN_BRACE);
    if (this.eat(CLOSE_BRACE)) return;
    do {
      const key = this.string();
      this.expect(COLON);
      field(key);
    } while (this.eat(COMMA));
    this.expect(CLOSE_BRACE);
  }
}

/**
 * The index of the closing quote of the string whose contents start at `i`; sets `cur.escaped`. Gives up on a raw
 * control character (JSON forbids them), an invalid escape or the end of the payload, so everything accepted is a
 * JSON string and decodeEscapes cannot fail on it later.
 */
function stringEnd(cur: Cursor, i: number): number {
  const s = cur.s;
  let escaped = false;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      cur.escaped = escaped;
      return i;
    }
    if (c === BACKSLASH) {
      escaped = true;
      i = escapeEnd(s, i);
    } else if (c >= 0x20) i++;
    // A control character, or NaN past the end.
    else throw GIVE_UP;
  }
}

/** Past the escape sequence at `i` (a backslash): one of \" \\ \/ \b \f \n \r \t, or \u and four hex digits. */
function escapeEnd(s: string, i: number): number {
  const c = s.charCodeAt(i + 1);
  if (
    c === QUOTE ||
    c === BACKSLASH ||
    c === 47 /* / */ ||
    c === 98 /* b */ ||
    c === 102 /* f */ ||
    c === 110 /* n */ ||
    c === 114 /* r */ ||
    c === 116 /* t */
  ) {
    return i + 2;
  }
  if (c !== 117 /* u */) throw GIVE_UP;
  for (let j = i + 2; j < i + 6; j++) {
    const h = s.charCodeAt(j);
    if (!((h >= ZERO && h <= NINE) || (h >= 97 && h <= 102) || (h >= 65 && h <= 70))) throw GIVE_UP;
  }
  return i + 6;
}

/** Where the number at `start` ends, checked against JSON's grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
function numberEnd(s: string, start: number): number {
  let i = start;
  if (s.charCodeAt(i) === MINUS) i++;
  const first = s.charCodeAt(i);
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) i = digits(s, i + 1);
  else throw GIVE_UP;
  if (s.charCodeAt(i) === DOT) {
    const end = digits(s, i + 1);
    if (end === i + 1) throw GIVE_UP;
    i = end;
  }
  const e = s.charCodeAt(i);
  if (e === 101 /* e */ || e === 69 /* E */) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === 43 /* + */ || sign === MINUS) i++;
    const end = digits(s, i);
    if (end === i) throw GIVE_UP;
    i = end;
  }
  return i;
}

function digits(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c < ZERO || c > NINE) return i;
    i++;
  }
}

/** Past `null` or an array of non-negative integers in JSON's grammar (no leading zeros) at `i`. */
function intArrayOrNullEnd(s: string, i: number): number {
  if (s.startsWith('null', i)) return i + 4;
  if (s.charCodeAt(i) !== OPEN_BRACKET) throw GIVE_UP;
  i++;
  if (s.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === ZERO) i++;
    else if (c > ZERO && c <= NINE) i = digits(s, i + 1);
    else throw GIVE_UP;
    const next = s.charCodeAt(i++);
    if (next === CLOSE_BRACKET) return i;
    if (next !== COMMA) throw GIVE_UP;
  }
}

/** The value of a field that must not come twice. */
function once<T>(previous: T | undefined, value: T): T {
  if (previous !== undefined) throw GIVE_UP;
  return value;
}

/** Decodes the escapes of a JSON string's contents (validated when scanned); newline tokens make these common enough. */
function decodeEscapes(raw: string): string {
  return JSON.parse(`"${raw}"`) as string;
}

/** A literal of vLLM's layout, as the char codes `matches` compares. */
type Literal = { codes: readonly number[]; length: number };

function literal(text: string): Literal {
  return { codes: Array.from(text, (c) => c.charCodeAt(0)), length: text.length };
}

/** Whether `lit` occurs in `s` at `pos`: a charCodeAt loop is several times cheaper than startsWith for these. */
function matches(s: string, pos: number, lit: Literal): boolean {
  const codes = lit.codes;
  for (let j = 0; j < codes.length; j++) if (s.charCodeAt(pos + j) !== codes[j]) return false;
  return true;
}

const TOKEN_OPEN = literal('{"token":"');
const THEN_LOGPROB = literal('","logprob":');
const THEN_BYTES = literal(',"bytes":');
const THEN_TOPS = literal(',"top_logprobs":');

/** One alternative into `tops`, keys in any order (vLLM's own layout takes CANONICAL_TOPS instead). */
function topEntry(cur: Cursor, tops: ScannedTops): void {
  let start = -1;
  let end = -1;
  let logprob: number | undefined;
  cur.object((key) => {
    if (key === 'token') {
      if (start !== -1) throw GIVE_UP;
      start = cur.skipString();
      end = cur.pos - 1;
    } else if (key === 'logprob') logprob = once(logprob, cur.number());
    else if (key === 'bytes') cur.skipIntArrayOrNull();
    else cur.primitive();
  });
  if (start === -1 || logprob === undefined) throw GIVE_UP;
  tops.add(start, end, logprob);
}

/*
 * vLLM's whole top_logprobs list in its own layout, validated by one native regex step: per character this is several
 * times cheaper than any JavaScript loop, and it leaves only the numbers to read. Strings as JSON defines them (no raw
 * control characters, valid escapes), numbers in JSON's grammar, `bytes` an array of non-negative integers.
 */
const STRING_BODY = String.raw`(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const INT_ARRAY = String.raw`\[(?:(?:0|[1-9]\d*)(?:,(?:0|[1-9]\d*))*)?\]`;
const CANONICAL_ENTRY = String.raw`\{"token":"${STRING_BODY}","logprob":${NUMBER},"bytes":${INT_ARRAY}\}`;
const CANONICAL_TOPS = new RegExp(String.raw`\[(?:${CANONICAL_ENTRY}(?:,${CANONICAL_ENTRY})*)?\]`, 'y');

/**
 * Reads a list CANONICAL_TOPS matched between `from` (its `[`) and `to` (past its `]`). Within a validated entry the
 * first `","logprob":` after the token's start is the token's end: a quote inside the token is escaped, and the
 * unescaped quote two places later would end the string before a `logprob":` the pattern does not allow. The number
 * is followed by `,"bytes":`, and a bytes array holds digits and commas only, so its `]` is the first after it.
 */
function canonicalTops(s: string, from: number, to: number, tops: ScannedTops): void {
  let p = from + 1;
  while (p < to - 1) {
    const start = p + 10; // past {"token":"
    const tokenEnd = s.indexOf('","logprob":', start);
    const numberStart = tokenEnd + 12;
    const numberEnd = s.indexOf(',"bytes":', numberStart);
    tops.add(start, tokenEnd, Number(s.slice(numberStart, numberEnd)));
    p = s.indexOf(']', numberEnd + 9) + 3; // past "]}" and the comma, or at `to`
  }
}

function topList(cur: Cursor, tops: ScannedTops): ScannedTops | null {
  if (cur.eatLiteral('null')) return null;
  tops.reset(cur.s);
  CANONICAL_TOPS.lastIndex = cur.pos;
  if (CANONICAL_TOPS.test(cur.s)) {
    canonicalTops(cur.s, cur.pos, CANONICAL_TOPS.lastIndex, tops);
    cur.pos = CANONICAL_TOPS.lastIndex;
    return tops;
  }
  cur.expect(OPEN_BRACKET);
  if (!cur.eat(CLOSE_BRACKET)) {
    do topEntry(cur, tops);
    while (cur.eat(COMMA));
    cur.expect(CLOSE_BRACKET);
  }
  return tops;
}

function contentEntry(cur: Cursor, tops: ScannedTops): ScannedEntry {
  const s = cur.s;
  if (matches(s, cur.pos, TOKEN_OPEN)) {
    const at = cur.pos;
    const start = at + TOKEN_OPEN.length;
    const end = stringEnd(cur, start);
    if (matches(s, end, THEN_LOGPROB)) {
      const escaped = cur.escaped;
      const numStart = end + THEN_LOGPROB.length;
      let p = numberEnd(s, numStart);
      const logprob = Number(s.slice(numStart, p));
      if (matches(s, p, THEN_BYTES)) p = intArrayOrNullEnd(s, p + THEN_BYTES.length);
      if (matches(s, p, THEN_TOPS)) {
        cur.pos = p + THEN_TOPS.length;
        const list = topList(cur, tops);
        if (cur.eat(CLOSE_BRACE)) {
          const raw = s.slice(start, end);
          return { token: escaped ? decodeEscapes(raw) : raw, logprob, top_logprobs: list };
        }
      }
    }
    cur.pos = at;
  }
  let token: string | undefined;
  let logprob: number | undefined;
  let list: ScannedTops | null | undefined;
  cur.object((key) => {
    if (key === 'token') token = once(token, cur.string());
    else if (key === 'logprob') logprob = once(logprob, cur.number());
    else if (key === 'bytes') cur.skipIntArrayOrNull();
    else if (key === 'top_logprobs') {
      if (list !== undefined) throw GIVE_UP;
      list = topList(cur, tops);
    } else cur.primitive();
  });
  if (token === undefined || logprob === undefined) throw GIVE_UP;
  const entry: ScannedEntry = { token, logprob };
  if (list !== undefined) entry.top_logprobs = list;
  return entry;
}

const DELTA_TEXT_KEYS = new Set(['content', 'reasoning', 'reasoning_content', 'role']);

function delta(cur: Cursor): Record<string, string | null> | null {
  if (cur.eatLiteral('null')) return null;
  if (cur.eatLiteral('{"content":"')) {
    // vLLM's plain delta: the token's text and nothing else.
    const start = cur.pos;
    const end = stringEnd(cur, start);
    if (cur.s.charCodeAt(end + 1) === CLOSE_BRACE) {
      cur.pos = end + 2;
      const raw = cur.s.slice(start, end);
      return { content: cur.escaped ? decodeEscapes(raw) : raw };
    }
    cur.pos = start - '{"content":"'.length;
  }
  const out: Record<string, string | null> = {};
  cur.object((key) => {
    // tool_calls and anything new may carry structure the decoder should see validated.
    if (!DELTA_TEXT_KEYS.has(key) || key in out) throw GIVE_UP;
    out[key] = cur.eatLiteral('null') ? null : cur.string();
  });
  return out;
}

/** Reuses one ScannedTops per content entry of a chunk. */
class TopsPool {
  #all: ScannedTops[] = [];
  #used = 0;

  reset(): void {
    this.#used = 0;
  }

  next(): ScannedTops {
    let t = this.#all[this.#used];
    if (t === undefined) {
      t = new ScannedTops();
      this.#all.push(t);
    }
    this.#used++;
    return t;
  }
}

function logprobs(cur: Cursor, pool: TopsPool): { content?: ScannedEntry[] | null } | null {
  if (cur.eatLiteral('null')) return null;
  if (cur.eatLiteral('{"content":[')) {
    // vLLM's layout: the content list and nothing else.
    const list: ScannedEntry[] = [];
    if (!cur.eat(CLOSE_BRACKET)) {
      do list.push(contentEntry(cur, pool.next()));
      while (cur.eat(COMMA));
      cur.expect(CLOSE_BRACKET);
    }
    cur.expect(CLOSE_BRACE);
    return { content: list };
  }
  const out: { content?: ScannedEntry[] | null } = {};
  cur.object((key) => {
    if (key !== 'content' || out.content !== undefined) throw GIVE_UP;
    if (cur.eatLiteral('null')) {
      out.content = null;
      return;
    }
    const list: ScannedEntry[] = [];
    cur.expect(OPEN_BRACKET);
    if (!cur.eat(CLOSE_BRACKET)) {
      do list.push(contentEntry(cur, pool.next()));
      while (cur.eat(COMMA));
      cur.expect(CLOSE_BRACKET);
    }
    out.content = list;
  });
  return out;
}

const CHOICE_OPEN = literal('{"index":');
const THEN_DELTA = literal(',"delta":');
const THEN_LOGPROBS = literal(',"logprobs":');
const THEN_FINISH_NULL = literal(',"finish_reason":null');
const TOKEN_IDS_NULL_CLOSE = literal(',"token_ids":null}');
const STOP_REASON_NULL_CLOSE = literal(',"stop_reason":null}');

/** A choice in vLLM's key order, with no finish reason (and token_ids or stop_reason null, or absent); else null. */
function canonicalChoice(cur: Cursor, pool: TopsPool): ScannedChunk['choices'][0] | null {
  const s = cur.s;
  const at = cur.pos;
  if (!matches(s, at, CHOICE_OPEN)) return null;
  const indexStart = at + CHOICE_OPEN.length;
  const indexEnd = digits(s, indexStart);
  // One digit, or several without a leading zero (JSON's grammar for a non-negative integer).
  if (
    indexEnd === indexStart ||
    (indexEnd > indexStart + 1 && s.charCodeAt(indexStart) === ZERO) ||
    !matches(s, indexEnd, THEN_DELTA)
  )
    return null;
  const index = indexEnd === indexStart + 1 ? s.charCodeAt(indexStart) - ZERO : Number(s.slice(indexStart, indexEnd));
  if (!Number.isSafeInteger(index)) return null;
  cur.pos = indexEnd + THEN_DELTA.length;
  const d = delta(cur);
  if (!matches(s, cur.pos, THEN_LOGPROBS)) return null;
  cur.pos += THEN_LOGPROBS.length;
  const lp = logprobs(cur, pool);
  if (!matches(s, cur.pos, THEN_FINISH_NULL)) return null;
  let p = cur.pos + THEN_FINISH_NULL.length;
  if (s.charCodeAt(p) === CLOSE_BRACE) p += 1;
  else if (matches(s, p, TOKEN_IDS_NULL_CLOSE)) p += TOKEN_IDS_NULL_CLOSE.length;
  else if (matches(s, p, STOP_REASON_NULL_CLOSE)) {
    cur.pos = p + STOP_REASON_NULL_CLOSE.length;
    return { index, delta: d, logprobs: lp, finish_reason: null, stop_reason: null };
  } else return null;
  cur.pos = p;
  return { index, delta: d, logprobs: lp, finish_reason: null };
}

function choice(cur: Cursor, pool: TopsPool): ScannedChunk['choices'][0] {
  const at = cur.pos;
  const canonical = canonicalChoice(cur, pool);
  if (canonical !== null) return canonical;
  cur.pos = at;
  pool.reset();
  let index: number | undefined;
  let finishSeen = false;
  const out: Partial<ScannedChunk['choices'][0]> = {};
  cur.object((key) => {
    if (key in out || (key === 'index' && index !== undefined) || (key === 'finish_reason' && finishSeen))
      throw GIVE_UP;
    switch (key) {
      case 'index': {
        const n = cur.number();
        if (!Number.isSafeInteger(n) || n < 0) throw GIVE_UP;
        index = n;
        break;
      }
      case 'delta':
        out.delta = delta(cur);
        break;
      case 'logprobs':
        out.logprobs = logprobs(cur, pool);
        break;
      case 'finish_reason':
        // A finishing chunk is rare and fully validated by the decoder: leave it to JSON.parse.
        if (!cur.eatLiteral('null')) throw GIVE_UP;
        finishSeen = true;
        break;
      case 'stop_reason': {
        const v = cur.primitive();
        if (typeof v === 'boolean') throw GIVE_UP;
        out.stop_reason = v;
        break;
      }
      case 'token_ids':
        cur.skipIntArrayOrNull();
        break;
      default:
        // An unknown key in a choice may be new semantics (e.g. a completions "text"): never skip it.
        throw GIVE_UP;
    }
  });
  if (index === undefined || !finishSeen) throw GIVE_UP;
  return { index, ...out, finish_reason: null };
}

/**
 * Reads plain chat token chunks: one choice with finish_reason null, usage absent or null, no error. Holds the
 * alternatives' buffers, which each scan reuses.
 */
export class ChatChunkScanner {
  readonly #pool = new TopsPool();
  /**
   * The text around the choice in the last chunk read in full: everything up to the choice (`{"id":…,"choices":[`)
   * and everything after it (`]}`). Within a stream both stay the same from chunk to chunk (same id, created, model),
   * and a chunk that repeats them byte for byte around a valid choice is as valid as the one they came from, so only
   * the choice needs reading.
   */
  #head: string | null = null;
  #tail = '';

  /** The chunk, or null when the payload is anything else or not certainly valid JSON (then use JSON.parse). */
  scan(payload: string): ScannedChunk | null {
    const cur = new Cursor(payload);
    const pool = this.#pool;
    pool.reset();
    try {
      const head = this.#head;
      // substring + === compares with memcmp; startsWith walks a long head several times slower.
      if (head !== null && payload.substring(0, head.length) === head && payload.endsWith(this.#tail)) {
        cur.pos = head.length;
        const only = choice(cur, pool);
        if (cur.pos === payload.length - this.#tail.length) return { choices: [only] };
        cur.pos = 0;
        pool.reset();
      }
      let only: ScannedChunk['choices'][0] | undefined;
      let choiceStart = -1;
      let choiceEnd = -1;
      cur.object((key) => {
        if (key === 'choices') {
          if (only !== undefined) throw GIVE_UP;
          cur.expect(OPEN_BRACKET);
          choiceStart = cur.pos;
          only = choice(cur, pool);
          choiceEnd = cur.pos;
          cur.expect(CLOSE_BRACKET); // exactly one choice
        } else if (key === 'usage' || key === 'error') {
          if (!cur.eatLiteral('null')) throw GIVE_UP;
        } else if (key === 'object') {
          if (cur.primitive() === 'error') throw GIVE_UP;
        } else cur.skipPrimitive();
      });
      if (cur.pos !== payload.length || only === undefined) return null;
      this.#head = payload.slice(0, choiceStart);
      this.#tail = payload.slice(choiceEnd);
      return { choices: [only] };
    } catch (err) {
      if (err === GIVE_UP) return null;
      throw err;
    }
  }
}

/** One payload with a scanner of its own (tests, one-off reads); the hot path keeps a ChatChunkScanner per stream. */
export function scanChatChunk(payload: string): ScannedChunk | null {
  return new ChatChunkScanner().scan(payload);
}
