import { formatFloat, tokenText } from './json-text.js';
import { ALTERNATIVES } from './phrases.js';
import { combine, mix32, Rng, unit } from './prng.js';

// Per position the synthetic model has a distribution over ranks 1..MAX_RANK, shaped by a
// confidence level. Distributions come from a small cache of variants per level bucket, so a
// token costs a few string concatenations; which variant, and the sampled token's rank, are
// hashed from (trace seed, position), so output stays deterministic.

const BUCKETS = 16;
const EOS_BUCKET = BUCKETS; // special: near-certain
const VARIANTS = 16;
/** Variant slots per clamp state (plain, clamped). */
const SLOTS = (BUCKETS + 1) * VARIANTS;
/** Ranks stored per variant: enough for --max-logprobs up to this minus one. */
export const MAX_RANK = 41;

interface Variant {
  /** lp[j] = logprob of rank j+1 (descending). */
  readonly lp: Float64Array;
  /** alt[j] = token string at rank j+1 when the sampled token does not take that rank. */
  readonly alt: readonly string[];
  readonly altSet: ReadonlySet<string>;
}

interface Fragment {
  /** logprob of the sampled token, formatted. */
  readonly sampledLp: string;
  readonly sampledValue: number;
  /** Chat: `,{"token":...,"logprob":...,"bytes":[...]}` for the other entries, in vLLM order. */
  readonly chatTail: string;
  /** Completions: `,"tok":lp` for the other dict entries. */
  readonly complTail: string;
}

/**
 * First 0-based rank whose logprob a clamped variant sets to −9999: 4..18, so a top-20 list carries
 * between 2 and 16 clamped entries.
 */
function clampFrom(v: number): number {
  return 4 + (v % 8) * 2;
}

function makeVariant(bucket: number, v: number, clamped: boolean): Variant {
  const rng = new Rng(combine(0x5eed, bucket * 131 + v));
  const lam = bucket === EOS_BUCKET ? 1 : (bucket + 0.5) / BUCKETS;
  // Unnormalised scores: top-1 at 0, a gap to rank 2 that grows with confidence, then a decay.
  const s = new Float64Array(MAX_RANK);
  const gap = (0.15 + 8.5 * lam ** 1.3) * rng.range(0.75, 1.25) + (bucket === EOS_BUCKET ? 3 : 0);
  const decay = 0.12 + 0.8 * lam + 0.3 * lam ** 3;
  s[1] = -gap;
  for (let j = 2; j < MAX_RANK; j++) s[j] = (s[j - 1] as number) - decay * rng.range(0.4, 1.6);
  // The rest of the vocabulary holds some mass too, more when the distribution is flat.
  let sum = Math.exp((s[MAX_RANK - 1] as number) - 0.5) * 60;
  for (let j = 0; j < MAX_RANK; j++) sum += Math.exp(s[j] as number);
  const logZ = Math.log(sum);
  const lp = new Float64Array(MAX_RANK);
  for (let j = 0; j < MAX_RANK; j++) lp[j] = Math.fround((s[j] as number) - logZ);
  // vLLM clamps −inf to −9999.0. With raw logprobs over a ~150k vocabulary that never reaches the
  // top-20; it does with processed logprobs or a structured-output mask, which is what this models.
  if (clamped) for (let j = clampFrom(v); j < MAX_RANK; j++) lp[j] = -9999;

  const alt: string[] = [];
  const start = rng.int(ALTERNATIVES.length);
  const stride = 7; // coprime with the list length keeps the picks distinct
  for (let j = 0; alt.length < MAX_RANK; j++) {
    const tok = ALTERNATIVES[(start + j * stride) % ALTERNATIVES.length] as string;
    if (j >= ALTERNATIVES.length) alt.push(`<alt_${alt.length}>`);
    else if (!alt.includes(tok)) alt.push(tok);
  }
  return { lp, alt, altSet: new Set(alt) };
}

const variants: (Variant | undefined)[] = new Array<Variant | undefined>(2 * SLOTS);
function variant(bucket: number, v: number, clamped: boolean): Variant {
  const i = (clamped ? SLOTS : 0) + bucket * VARIANTS + v;
  let x = variants[i];
  if (x === undefined) {
    x = makeVariant(bucket, v, clamped);
    variants[i] = x;
  }
  return x;
}

// Fragment cache keyed by (k, clamped, bucket, variant, sampled rank).
const fragments = new Map<number, Fragment>();
const FRAGMENT_LIMIT = 20_000;

/** `r` = 0-based rank of the sampled token; r ≥ k means it is outside the requested top-k. */
function fragment(k: number, bucket: number, v: number, r: number, clamped: boolean): Fragment {
  const key = ((k * 2 + (clamped ? 1 : 0)) * SLOTS + bucket * VARIANTS + v) * MAX_RANK + r;
  let f = fragments.get(key);
  if (f !== undefined) return f;
  const va = variant(bucket, v, clamped);
  // Which ranks are listed after the sampled token: vLLM's dict is [sampled, top1..topK] with the
  // sampled token's own rank deduplicated; chat keeps the first k items, completions all of them.
  const sampledValue = va.lp[r] as number;
  let chatTail = '';
  let complTail = '';
  let chatCount = 1;
  for (let j = 0; j < k; j++) {
    if (j === r) continue;
    const t = tokenText(va.alt[j] as string);
    const lps = formatFloat(va.lp[j] as number);
    if (chatCount < k) {
      chatTail += `,{"token":${t.json},"logprob":${lps},"bytes":${t.bytes}}`;
      chatCount++;
    }
    complTail += `,${t.json}:${lps}`;
  }
  f = { sampledLp: formatFloat(sampledValue), sampledValue, chatTail, complTail };
  // Bounded: a client probing many k values must not grow the cache without limit (~2 KB per entry at k=20).
  if (fragments.size >= FRAGMENT_LIMIT) fragments.clear();
  fragments.set(key, f);
  return f;
}

/** Logprob data for one sampled token at one position. */
export interface PositionLogprobs {
  readonly sampledLp: string;
  readonly sampledValue: number;
  readonly chatTail: string;
  readonly complTail: string;
}

const EMPTY: PositionLogprobs = { sampledLp: '', sampledValue: 0, chatTail: '', complTail: '' };

/**
 * Logprobs for a sampled `token` at position `pos` of a trace, with `k` alternatives requested.
 * `level` in [0,1] is the model's confidence (1 = EOS distribution). `clampRate` is the share of
 * positions whose tail is −9999 (the −inf clamp); 0 for a model serving raw logprobs.
 */
export function positionLogprobs(
  traceSeed: number,
  pos: number,
  token: string,
  level: number,
  k: number,
  clampRate = 0,
): PositionLogprobs {
  if (k < 0) return EMPTY;
  const h = combine(traceSeed, pos);
  const bucket = level >= 1 ? EOS_BUCKET : Math.min(BUCKETS - 1, Math.floor(level * BUCKETS));
  let v = h % VARIANTS;
  const lam = bucket === EOS_BUCKET ? 1 : level;
  const u = unit(mix32(h ^ 0xabcdef));
  // Mostly the argmax; less so when the model is unsure, and rarely outside the top-k.
  // The rank is a property of the position, not of k: asking for more alternatives only extends the list.
  let rank = 0;
  const pTop = bucket === EOS_BUCKET ? 1 : 0.5 + 0.48 * lam;
  if (u >= pTop) {
    const w = (u - pTop) / (1 - pTop);
    rank = w < 0.6 ? 1 : w < 0.9 ? 2 : 20 + (h % (MAX_RANK - 21));
  }
  const clamped = clampRate > 0 && unit(mix32(h ^ 0x9999)) < clampRate;
  const kk = Math.min(k, MAX_RANK - 1);
  // The alternatives must not repeat the sampled token (vLLM keys positions by token id).
  for (let tries = 0; tries < VARIANTS; tries++) {
    if (!variant(bucket, v, clamped).altSet.has(token)) break;
    v = (v + 1) % VARIANTS;
  }
  // A −inf token cannot be sampled: under a mask the sampled token sits above the clamp.
  if (clamped && rank >= clampFrom(v)) rank = 0;
  if (variant(bucket, v, clamped).altSet.has(token)) return slowPosition(bucket, v, rank, kk, token, clamped);
  return fragment(kk, bucket, v, rank, clamped);
}

function slowPosition(
  bucket: number,
  v: number,
  rank: number,
  k: number,
  token: string,
  clamped: boolean,
): PositionLogprobs {
  const base = fragment(k, bucket, v, rank, clamped);
  const t = tokenText(token);
  // Rare: rebuild without the colliding entry (one fewer alternative, like vLLM's dedup).
  return {
    sampledLp: base.sampledLp,
    sampledValue: base.sampledValue,
    chatTail: base.chatTail.replace(
      new RegExp(`,\\{"token":${escapeRe(t.json)},"logprob":[^,]+,"bytes":\\[[0-9,]*\\]\\}`),
      '',
    ),
    complTail: base.complTail.replace(new RegExp(`,${escapeRe(t.json)}:[^,]+`), ''),
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
