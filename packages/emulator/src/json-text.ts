// Hand-built JSON fragments for the hot path: chunks are assembled by string concatenation
// from cached pieces instead of JSON.stringify of objects (about 1.7 KB per token with 20 logprobs).

const encoder = new TextEncoder();

/** Formats a logprob the way pydantic prints a float32 widened to double (`-12.0`, `-9999.0`). */
export function formatFloat(x: number): string {
  if (x <= -9999) return '-9999.0';
  const f = Math.fround(x);
  const s = String(f);
  return Number.isInteger(f) ? `${s}.0` : s;
}

/** Pieces of JSON describing one token string, cached because the vocabulary is small. */
export interface TokenText {
  /** JSON string literal, e.g. `" capital"` with quotes. */
  readonly json: string;
  /** JSON array of UTF-8 bytes, e.g. `[32,99]`. */
  readonly bytes: string;
  /** Length in Unicode code points (what Python's len() and vLLM's text_offset count). */
  readonly codePoints: number;
}

const cache = new Map<string, TokenText>();
const CACHE_LIMIT = 100_000;

/** JSON pieces for a token string (memoised). */
export function tokenText(token: string): TokenText {
  let t = cache.get(token);
  if (t === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    t = {
      json: JSON.stringify(token),
      bytes: `[${encoder.encode(token).join(',')}]`,
      codePoints: codePointLength(token),
    };
    cache.set(token, t);
  }
  return t;
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}
