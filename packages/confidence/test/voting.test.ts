import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { InvalidArgumentError, LengthMismatchError, consensusReached, weightedVote } from '@deepconf-safety/confidence';
import { officialExtra } from './fixtures.js';

describe('weightedVote', () => {
  test('sums weights per answer and picks the heaviest', () => {
    const got = weightedVote(['a', 'b', 'a', 'c'], [1, 3, 1.5, 0.5]);
    expect(got.answer).toBe('b');
    expect([...got.weights]).toEqual([
      ['a', 2.5],
      ['b', 3],
      ['c', 0.5],
    ]);
    expect(got.share).toBeCloseTo(0.5, 12);
  });

  test('ties go to the answer seen first; null answers are skipped', () => {
    expect(weightedVote(['x', 'y', 'y', 'x'], [1, 1, 1, 1]).answer).toBe('x');
    expect(weightedVote([null, 'y', 'x'], [100, 1, 1]).answer).toBe('y');
    expect(weightedVote([null, null], [1, 1])).toEqual({ answer: null, weights: new Map(), share: 0 });
    expect(weightedVote([], [])).toEqual({ answer: null, weights: new Map(), share: 0 });
  });

  test('matches the official weighted_majority_vote on its cases', () => {
    for (const row of officialExtra.vote_cases) expect(weightedVote(row.answers, row.weights).answer).toBe(row.answer);
  });

  test('bad input names the row', () => {
    expect(() => weightedVote(['a'], [1, 2])).toThrow(LengthMismatchError);
    expect(() => weightedVote(['a'], [1, 2])).toThrow(/answers has 1 items but weights has 2/);
    expect(() => weightedVote(['a', 'b'], [1, NaN])).toThrow(/weights\[1\]/);
    expect(() => weightedVote(['a', 'b'], [-1, 1])).toThrow(/weights\[0\]/);
  });

  const ballots = fc.array(
    fc.tuple(fc.option(fc.constantFrom('A', 'B', 'C', 'D'), { freq: 6 }), fc.double({ min: 0, max: 100, noNaN: true })),
    { maxLength: 40 },
  );
  const split = (b: [string | null, number][]): [(string | null)[], number[]] => [
    b.map((x) => x[0]),
    b.map((x) => x[1]),
  ];

  test('invariants: winner is heaviest, share in [0, 1], totals conserved, nulls ignored (property)', () => {
    fc.assert(
      fc.property(ballots, (b) => {
        const [answers, weights] = split(b);
        const got = weightedVote(answers, weights);
        const voted = b.filter((x) => x[0] !== null);
        if (voted.length === 0) return expect(got.answer).toBeNull();
        const winner = got.weights.get(got.answer as string) as number;
        for (const w of got.weights.values()) expect(winner).toBeGreaterThanOrEqual(w);
        expect(got.share).toBeGreaterThanOrEqual(0);
        expect(got.share).toBeLessThanOrEqual(1);
        const total = voted.reduce((s, x) => s + x[1], 0);
        expect([...got.weights.values()].reduce((s, w) => s + w, 0)).toBeCloseTo(total, 6);
        // First-seen order of the map equals first appearance among non-null answers.
        expect([...got.weights.keys()]).toEqual([...new Set(voted.map((x) => x[0]))]);
        // Adding null ballots changes nothing.
        const more = weightedVote([...answers, null, null], [...weights, 1e6, 0]);
        expect(more.answer).toBe(got.answer);
        expect(more.share).toBe(got.share);
        // Scaling all weights by a power of two (exact in floating point) keeps answer and share.
        const scaled = weightedVote(
          answers,
          weights.map((w) => w * 4),
        );
        expect(scaled.answer).toBe(got.answer);
        expect(scaled.share).toBe(got.share);
        return undefined;
      }),
    );
  });

  test('equal weights reduce to plurality with first-seen tie-break (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('A', 'B', 'C'), { minLength: 1, maxLength: 30 }), (answers) => {
        const counts = new Map<string, number>();
        for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
        let best = answers[0] as string;
        for (const [a, c] of counts) if (c > (counts.get(best) as number)) best = a;
        expect(
          weightedVote(
            answers,
            answers.map(() => 1),
          ).answer,
        ).toBe(best);
      }),
    );
  });
});

describe('consensusReached', () => {
  test('beta = leading weight / total >= tau (0.95 by default)', () => {
    expect(
      consensusReached(
        new Map([
          ['a', 95],
          ['b', 5],
        ]),
      ),
    ).toBe(true);
    expect(
      consensusReached(
        new Map([
          ['a', 94],
          ['b', 6],
        ]),
      ),
    ).toBe(false);
    expect(
      consensusReached(
        new Map([
          ['a', 3],
          ['b', 1],
        ]),
        0.75,
      ),
    ).toBe(true);
    expect(consensusReached(new Map([['a', 1]]))).toBe(true);
  });

  test('no votes or zero weight is never consensus', () => {
    expect(consensusReached(new Map())).toBe(false);
    expect(consensusReached(new Map([['a', 0]]))).toBe(false);
  });

  test('rejects tau outside (0, 1] and bad weights', () => {
    for (const bad of [0, -0.5, 1.5, NaN])
      expect(() => consensusReached(new Map([['a', 1]]), bad)).toThrow(InvalidArgumentError);
    expect(() =>
      consensusReached(
        new Map([
          ['a', 1],
          ['b', -1],
        ]),
      ),
    ).toThrow(/votes\[1\]/);
  });

  test('agrees with weightedVote share (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C'), fc.double({ min: 0.001, max: 50, noNaN: true })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (b, tau) => {
          const vote = weightedVote(
            b.map((x) => x[0]),
            b.map((x) => x[1]),
          );
          expect(consensusReached(vote.weights, tau)).toBe(vote.share >= tau);
        },
      ),
    );
  });
});
