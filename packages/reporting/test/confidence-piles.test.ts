import { describe, expect, test } from '@jest/globals';
import { STRIP_MOST, confidencePiles, stripSample } from '../src/figures/buckets.js';

describe('confidencePiles: ties a swarm cannot show get their count', () => {
  test('five or more prompts of one row at one exact value are a pile; other rows and near-ties are not', () => {
    const data = [
      ...Array.from({ length: 7 }, () => ({ label: 'Correct refusal', confidence: 1 })),
      ...Array.from({ length: 4 }, () => ({ label: 'Correct compliance', confidence: 1 })),
      ...Array.from({ length: 5 }, (_, i) => ({ label: 'Correct compliance', confidence: 0.9 + i * 1e-9 })),
      ...Array.from({ length: 5 }, () => ({ label: 'Incorrect refusal', confidence: 0.8123 })),
    ];
    expect(confidencePiles(data)).toEqual([
      { label: 'Correct refusal', x: 1, text: '7 at 1.00' },
      { label: 'Incorrect refusal', x: 0.8123, text: '5 at 0.812' },
    ]);
  });

  test('no ties, no piles', () => {
    expect(confidencePiles([0.1, 0.2, 0.3, 0.4, 0.5].map((confidence) => ({ label: 'a', confidence })))).toEqual([]);
  });
});

describe('stripSample: a large run draws a rank sample of each row', () => {
  const rows = (counts: Record<string, number>) =>
    Object.entries(counts).flatMap(([label, n]) =>
      // Unsorted on purpose: the sample is taken in order of confidence, not of the input.
      Array.from({ length: n }, (_, i) => ({ label, confidence: ((i * 7919) % n) / n })),
    );

  test(`up to ${STRIP_MOST} prompts every one is drawn`, () => {
    const data = rows({ a: STRIP_MOST - 500, b: 500 });
    const { dots, every } = stripSample(data);
    expect(every).toBe(1);
    expect(dots).toEqual(data);
  });

  test('beyond it one k for every row, each row sampled from its lowest confidence up in steps of k', () => {
    const data = rows({ a: 6000, b: 3000, c: 1001 });
    const { dots, every } = stripSample(data);
    expect(every).toBe(Math.ceil(10_001 / STRIP_MOST));
    expect(dots.length).toBeLessThanOrEqual(STRIP_MOST + 3);
    for (const [label, n] of [
      ['a', 6000],
      ['b', 3000],
      ['c', 1001],
    ] as const) {
      const drawn = dots.filter((d) => d.label === label).map((d) => d.confidence);
      const sorted = data
        .filter((d) => d.label === label)
        .map((d) => d.confidence)
        .sort((x, y) => x - y);
      // Rows keep their relative sizes, and the lowest value of each row is drawn.
      expect(drawn.length).toBe(Math.ceil(n / every));
      expect(drawn).toEqual(sorted.filter((_, i) => i % every === 0));
    }
  });
});
