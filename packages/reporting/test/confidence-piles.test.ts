import { describe, expect, test } from '@jest/globals';
import { confidencePiles } from '../src/figures/buckets.js';

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
