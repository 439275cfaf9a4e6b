/**
 * A strict, shape-specific reader for vLLM's plain chat token chunks, the one payload the hot path sees thousands of
 * times per trace. JSON.parse builds every key, string and `bytes` array of the top-K alternatives; this reads only
 * what the decoder uses and builds the same values. It accepts a subset of JSON and returns null for anything outside
 * it — whitespace, unknown keys in a choice or delta, nested values in unknown fields, duplicate keys, a
 * finish_reason, usage, errors, malformed literals — so the caller falls back to JSON.parse and the decoder's checks.
 * Numbers are read with Number() on a slice that matched JSON's number grammar, which rounds exactly as JSON.parse.
 */

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

type ScannedEntry = { token: string; logprob: number; top_logprobs?: { token: string; logprob: number }[] | null };

/** Thrown internally to abandon the scan; never escapes scanChatChunk. */
const GIVE_UP = Symbol('give up');

const QUOTE = 34;
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
 * A JSON string: no raw control characters (JSON forbids them), escapes decoded afterwards by JSON.parse. This and
 * TOP_ENTRY are the only places characters outside the JSON punctuation are consumed, so a control character or
 * whitespace anywhere in the payload makes the scan give up.
 */
const STRING = /"((?:[^"\\\x00-\x1f]|\\[^\x00-\x1f])*)"/y;

class Cursor {
  pos = 0;
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

  string(): string {
    STRING.lastIndex = this.pos;
    const m = STRING.exec(this.s);
    if (m === null) throw GIVE_UP;
    this.pos = STRING.lastIndex;
    const raw = m[1]!;
    return raw.includes('\\') ? decodeEscapes(raw) : raw;
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

  /** null or an array of integers (vLLM's `bytes` and `token_ids`), skipped. */
  skipIntArrayOrNull(): void {
    if (this.eatLiteral('null')) return;
    this.expect(OPEN_BRACKET);
    if (this.eat(CLOSE_BRACKET)) return;
    do {
      this.pos = numberEnd(this.s, this.pos);
    } while (this.eat(COMMA));
    this.expect(CLOSE_BRACKET);
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

/** The value of a field that must not come twice. */
function once<T>(previous: T | undefined, value: T): T {
  if (previous !== undefined) throw GIVE_UP;
  return value;
}

function digits(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c < ZERO || c > NINE) return i;
    i++;
  }
}

/**
 * vLLM's layout of an alternative, matched in one native regex step: the generic key loop costs several times more
 * per entry, and a chunk carries K+1 of them. Token as in STRING, number in JSON's grammar, `bytes` as null or
 * non-negative integers.
 */
const TOP_ENTRY = /\{"token":"((?:[^"\\\x00-\x1f]|\\[^\x00-\x1f])*)","logprob":(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)(?:,"bytes":(?:null|\[(?:(?:0|[1-9]\d*)(?:,(?:0|[1-9]\d*))*)?\]))?\}/y;

function canonicalTopEntry(cur: Cursor): { token: string; logprob: number } | null {
  TOP_ENTRY.lastIndex = cur.pos;
  const m = TOP_ENTRY.exec(cur.s);
  if (m === null) return null;
  cur.pos = TOP_ENTRY.lastIndex;
  const raw = m[1]!;
  return { token: raw.includes('\\') ? decodeEscapes(raw) : raw, logprob: Number(m[2]) };
}

/** Decodes (and validates) the escapes of a JSON string's contents; newline tokens make these common enough. */
function decodeEscapes(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    throw GIVE_UP;
  }
}

function topEntry(cur: Cursor): { token: string; logprob: number } {
  const canonical = canonicalTopEntry(cur);
  if (canonical !== null) return canonical;
  let token: string | undefined;
  let logprob: number | undefined;
  cur.object((key) => {
    if (key === 'token') token = once(token, cur.string());
    else if (key === 'logprob') logprob = once(logprob, cur.number());
    else if (key === 'bytes') cur.skipIntArrayOrNull();
    else cur.primitive();
  });
  if (token === undefined || logprob === undefined) throw GIVE_UP;
  return { token, logprob };
}

function contentEntry(cur: Cursor): ScannedEntry {
  let token: string | undefined;
  let logprob: number | undefined;
  let tops: { token: string; logprob: number }[] | null | undefined;
  cur.object((key) => {
    if (key === 'token') token = once(token, cur.string());
    else if (key === 'logprob') logprob = once(logprob, cur.number());
    else if (key === 'bytes') cur.skipIntArrayOrNull();
    else if (key === 'top_logprobs') {
      if (tops !== undefined) throw GIVE_UP;
      if (cur.eatLiteral('null')) tops = null;
      else {
        const list: { token: string; logprob: number }[] = [];
        cur.expect(OPEN_BRACKET);
        if (!cur.eat(CLOSE_BRACKET)) {
          do list.push(topEntry(cur));
          while (cur.eat(COMMA));
          cur.expect(CLOSE_BRACKET);
        }
        tops = list;
      }
    } else cur.primitive();
  });
  if (token === undefined || logprob === undefined) throw GIVE_UP;
  const entry: ScannedEntry = { token, logprob };
  if (tops !== undefined) entry.top_logprobs = tops;
  return entry;
}

function logprobs(cur: Cursor): { content?: ScannedEntry[] | null } | null {
  if (cur.eatLiteral('null')) return null;
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
      do list.push(contentEntry(cur));
      while (cur.eat(COMMA));
      cur.expect(CLOSE_BRACKET);
    }
    out.content = list;
  });
  return out;
}

const DELTA_TEXT_KEYS = new Set(['content', 'reasoning', 'reasoning_content', 'role']);

function delta(cur: Cursor): Record<string, string | null> | null {
  if (cur.eatLiteral('null')) return null;
  const out: Record<string, string | null> = {};
  cur.object((key) => {
    // tool_calls and anything new may carry structure the decoder should see validated.
    if (!DELTA_TEXT_KEYS.has(key) || key in out) throw GIVE_UP;
    out[key] = cur.eatLiteral('null') ? null : cur.string();
  });
  return out;
}

function choice(cur: Cursor): ScannedChunk['choices'][0] {
  let index: number | undefined;
  let finishSeen = false;
  const out: Partial<ScannedChunk['choices'][0]> = {};
  cur.object((key) => {
    if (key in out || (key === 'index' && index !== undefined) || (key === 'finish_reason' && finishSeen)) throw GIVE_UP;
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
        out.logprobs = logprobs(cur);
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
 * Reads a plain chat token chunk: one choice with finish_reason null, usage absent or null, no error. Returns null
 * when the payload is anything else or not certainly valid JSON; the caller then uses JSON.parse.
 */
export function scanChatChunk(payload: string): ScannedChunk | null {
  const cur = new Cursor(payload);
  let only: ScannedChunk['choices'][0] | undefined;
  try {
    cur.object((key) => {
      if (key === 'choices') {
        if (only !== undefined) throw GIVE_UP;
        cur.expect(OPEN_BRACKET);
        only = choice(cur);
        cur.expect(CLOSE_BRACKET); // exactly one choice
      } else if (key === 'usage' || key === 'error') {
        if (!cur.eatLiteral('null')) throw GIVE_UP;
      } else if (cur.primitive() === 'error' && key === 'object') {
        throw GIVE_UP;
      }
    });
    if (cur.pos !== payload.length || only === undefined) return null;
  } catch (err) {
    if (err === GIVE_UP) return null;
    throw err;
  }
  return { choices: [only] };
}

/**
 * Parses the `data:` payloads of one chat stream: JSON.parse for the first payloads (the decoder validates those in
 * full against the real data) and for whatever the scanner declines, the scanner for the steady run of tokens.
 */
export class ChunkParser {
  /** Payloads that always take JSON.parse: the role chunk and the first token chunk, which the decoder checks with zod. */
  static readonly WARM_UP = 2;
  readonly #scan: boolean;
  #count = 0;

  constructor(kind: 'chat' | 'completions') {
    this.#scan = kind === 'chat';
  }

  /** Throws a SyntaxError when the payload is not JSON. */
  parse(payload: string): unknown {
    if (this.#scan && this.#count++ >= ChunkParser.WARM_UP) {
      const scanned = scanChatChunk(payload);
      if (scanned !== null) return scanned;
    }
    return JSON.parse(payload);
  }
}
