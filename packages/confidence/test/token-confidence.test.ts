import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  EmptyInputError,
  InvalidArgumentError,
  InvalidValueError,
  exactTopK,
  exactTopKConfidence,
  exactTopKValuesConfidence,
  roundHalfEven3,
  tokenConfidence,
  tokenConfidences,
} from '@deepconf-safety/confidence';
import { officialExtra } from './fixtures.js';

describe('tokenConfidence', () => {
  test('is minus the mean of the values', () => {
    expect(tokenConfidence([-1, -2, -3])).toBe(2);
    expect(tokenConfidence([-0.5])).toBe(0.5);
    expect(tokenConfidence(Float64Array.of(-4, -6))).toBe(5);
  });

  test('sums in numpy order: bit-identical to -np.mean for 1..300 values', () => {
    for (const row of officialExtra.token_means) {
      expect(tokenConfidence(row.logprobs)).toBe(row.neg_np_mean);
      expect(roundHalfEven3(tokenConfidence(row.logprobs))).toBe(row.official_round3);
    }
  });

  test('vLLM clamp -9999 gives a ~+500 spike, -inf gives +inf, NaN propagates', () => {
    const top = Array.from({ length: 20 }, (_, i) => -1 - i / 10);
    const clamped = [...top.slice(0, 19), -9999];
    expect(tokenConfidence(clamped)).toBeGreaterThan(500);
    expect(tokenConfidence([...top.slice(0, 19), -Infinity])).toBe(Infinity);
    expect(tokenConfidence([...top.slice(0, 19), NaN])).toBeNaN();
  });

  test('an empty position throws a ConfidenceError that says what to do', () => {
    expect(() => tokenConfidence([])).toThrow(EmptyInputError);
    expect(() => tokenConfidence([])).toThrow(/skips it/);
  });
});

describe('tokenConfidences', () => {
  test('skips empty and missing positions as the official code does, and reports them', () => {
    const got = tokenConfidences([[-1, -3], [], null, [-2], undefined]);
    expect(got.confidences).toEqual([2, 2]);
    expect(got.skippedPositions).toEqual([1, 2, 4]);
  });

  test('an empty trace gives no confidences and does not throw', () => {
    expect(tokenConfidences([])).toEqual({ confidences: [], skippedPositions: [] });
  });
});

/**
 * A vLLM position as the engine builds it: a dict keyed by token id in insertion order
 * [sampled, top1, top2, ...] (a duplicate keeps its first slot); chat returns the first n entries.
 */
function chatTopLogprobs(vocab: readonly number[], sampledId: number, requested: number): { logprob: number }[] {
  const ranked = vocab.map((lp, id) => ({ id, lp })).sort((a, b) => b.lp - a.lp);
  const order = [sampledId, ...ranked.slice(0, requested).map((e) => e.id)];
  const seen = new Set<number>();
  const dict: number[] = [];
  for (const id of order) if (!seen.has(id)) seen.add(id), dict.push(id);
  return dict.slice(0, requested).map((id) => ({ logprob: vocab[id] as number }));
}

/** What the official code averages: every value of the dict built with logprobs = K, in the dict's order. */
function officialReferenceSet(vocab: readonly number[], sampledId: number, k: number): number[] {
  const ranked = vocab.map((lp, id) => ({ id, lp })).sort((a, b) => b.lp - a.lp);
  const ids = new Set([sampledId, ...ranked.slice(0, k).map((e) => e.id)]);
  return [...ids].map((id) => vocab[id] as number);
}

const desc = (values: number[]): number[] => [...values].sort((a, b) => b - a);

describe('exactTopK', () => {
  const vocabulary = fc.uniqueArray(fc.double({ min: -30, max: -1e-6, noNaN: true }), { minLength: 30, maxLength: 60 });

  test('reproduces the official per-position set for every sampled rank (property)', () => {
    fc.assert(
      fc.property(vocabulary, fc.integer({ min: 1, max: 25 }), fc.nat(), (vocab, k, pick) => {
        fc.pre(vocab.length > k + 2);
        const ranked = vocab.map((lp, id) => ({ id, lp })).sort((a, b) => b.lp - a.lp);
        const sampledId = (ranked[pick % vocab.length] as { id: number }).id;
        const chat = chatTopLogprobs(vocab, sampledId, k + 1);
        const expected = officialReferenceSet(vocab, sampledId, k);
        expect(exactTopK(chat, k)).toEqual(expected);
        // Same values in the same order as the official dict: numpy's mean is reproduced bit for bit.
        expect(exactTopKConfidence(chat, k)).toBe(tokenConfidence(expected));
      }),
    );
  });

  test('sampled rank 1, K, K+1 and far out give K, K, K+1, K+1 values', () => {
    const vocab = Array.from({ length: 40 }, (_, i) => -0.5 - i * 0.25);
    const k = 20;
    for (const [rank, size] of [
      [1, 20],
      [20, 20],
      [21, 21],
      [35, 21],
    ] as const) {
      const chat = chatTopLogprobs(vocab, rank - 1, k + 1);
      expect(chat[0]?.logprob).toBe(vocab[rank - 1]); // sampled first, list not sorted
      expect(exactTopK(chat, k)).toHaveLength(size);
    }
  });

  test('a sampled value tied with the K-th largest counts as inside: the true top-K values', () => {
    const top = [-1, -2, -3, -4];
    expect(
      exactTopK([{ logprob: -4 }, ...top.slice(0, 3).map((logprob) => ({ logprob })), { logprob: -4 }], 4),
    ).toEqual([-4, -1, -2, -3]);
    expect(
      exactTopKConfidence([{ logprob: -4 }, ...top.slice(0, 3).map((logprob) => ({ logprob })), { logprob: -4 }], 4),
    ).toBe(2.5);
  });

  test('a sampled value tied with the K-th counts once, in both forms (the reported disagreement)', () => {
    // K = 2: others -1, -2, sampled -2 ties with the 2nd largest => inside: {-2 (sampled), -1}, never -2 twice.
    const chat = [{ logprob: -2 }, { logprob: -1 }, { logprob: -2 }];
    expect(exactTopK(chat, 2)).toEqual([-2, -1]);
    expect(exactTopKConfidence(chat, 2)).toBe(1.5);
    // Every value equal: K values, not K + 1.
    const flat = Array.from({ length: 21 }, () => ({ logprob: -3 }));
    expect(exactTopK(flat, 20)).toHaveLength(20);
    expect(exactTopKConfidence(flat, 20)).toBe(3);
  });

  test('exactTopKConfidence equals tokenConfidence(exactTopK(...)) bit for bit, ties and infinities included (property)', () => {
    // Few distinct values, so ties between the sampled value, the K-th largest and the smallest are common.
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(-0.25, -1, -1.5, -3, -7.125, -9999) },
      { weight: 4, arbitrary: fc.double({ min: -40, max: 0, noNaN: true }) },
      { weight: 1, arbitrary: fc.constant(-Infinity) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(value, { minLength: 28, maxLength: 28 }),
        (k, extra, pool) => {
          const list = pool.slice(0, k + extra).map((logprob) => ({ logprob }));
          const set = exactTopK(list, k);
          const othersAbove = list.slice(1).filter((e) => e.logprob > (list[0] as { logprob: number }).logprob).length;
          expect(set).toHaveLength(othersAbove < k ? k : k + 1);
          expect(set[0]).toBe(list[0]?.logprob);
          const all = list.map((e) => e.logprob);
          const expectedValues =
            othersAbove < k ? desc(all).slice(0, k) : desc([...desc(all.slice(1)).slice(0, k), all[0] as number]);
          expect(desc(set)).toEqual(expectedValues);
          expect(Object.is(exactTopKConfidence(list, k), tokenConfidence(set))).toBe(true);
          // The bare-number form, also over the front of a longer buffer (how the client's scanner hands values on).
          const buffer = Float64Array.from([...all, -0.5, -0.75]);
          expect(Object.is(exactTopKValuesConfidence(buffer, k, all.length), tokenConfidence(set))).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('the vLLM -9999 clamp is an ordinary (very low) value', () => {
    const chat = [{ logprob: -9999 }, { logprob: -1 }, { logprob: -2 }];
    expect(exactTopK(chat, 2)).toEqual([-9999, -1, -2]);
    expect(exactTopKConfidence(chat, 2)).toBeCloseTo(10002 / 3, 9);
  });

  test('empty top_logprobs (no logprob data) gives an empty set; the confidence form throws', () => {
    expect(exactTopK([], 20)).toEqual([]);
    expect(() => exactTopKConfidence([], 20)).toThrow(EmptyInputError);
    expect(() => exactTopKValuesConfidence(new Float64Array(8), 20, 0)).toThrow(EmptyInputError);
  });

  test('the bare-number form rejects what the object form rejects', () => {
    expect(() => exactTopKValuesConfidence([-1, NaN, -2], 2)).toThrow(InvalidValueError);
    expect(() => exactTopKValuesConfidence([-1, -2], 2)).toThrow(/needs k \+ 1 = 3/);
    expect(() => exactTopKValuesConfidence([-1, -2, -3], 0)).toThrow(InvalidArgumentError);
  });

  test('longer lists use the same rule', () => {
    const vocab = Array.from({ length: 40 }, (_, i) => -0.5 - i * 0.25);
    const chat = chatTopLogprobs(vocab, 30, 10);
    expect(exactTopK(chat, 5)).toEqual(officialReferenceSet(vocab, 30, 5));
    expect(exactTopKConfidence(chat, 5)).toBeCloseTo(tokenConfidence(officialReferenceSet(vocab, 30, 5)), 12);
  });

  test('bad input is rejected with errors naming the argument', () => {
    const three = [{ logprob: -1 }, { logprob: -2 }, { logprob: -3 }];
    expect(() => exactTopK(three, 3)).toThrow(/request top_logprobs: 4/);
    expect(() => exactTopK(three, 0)).toThrow(InvalidArgumentError);
    expect(() => exactTopK(three, 1.5)).toThrow(/^k:/);
    expect(() => exactTopK([{ logprob: -1 }, { logprob: NaN }], 1)).toThrow(InvalidValueError);
    expect(() => exactTopKConfidence([{ logprob: -1 }, { logprob: NaN }], 1)).toThrow(/topLogprobs\[1\]/);
  });
});
