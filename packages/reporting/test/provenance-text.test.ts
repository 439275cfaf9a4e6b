import { describe, expect, test } from '@jest/globals';
import { savingsCaveat, splitSentence } from '../src/provenance-text.js';

describe('splitSentence', () => {
  const rows = (confidences: number[]) => confidences.map((confidence) => ({ decision: 'comply', confidence }));

  test('gives n per side and puts every tie at the split on the confident side', () => {
    const text = splitSentence(rows([0.6, 0.8, 1, 1, 1, 1, 1, 1]), { percentile: 50, confidence: 1 });
    expect(text).toMatch(/6 prompts at or above it are confident, 2 below it uncertain/);
    expect(text).toMatch(/Ties at the split count as confident \(6 prompts, 75% of the decided/);
    expect(text).toMatch(/not unanimous/);
  });

  test('without many ties it does not warn', () => {
    const text = splitSentence(rows([0.1, 0.2, 0.3, 0.4]), { percentile: 50, confidence: 0.25 });
    expect(text).toMatch(/2 prompts at or above it are confident, 2 below it uncertain/);
    expect(text).toMatch(/\(0 prompts, 0% of the decided, sit exactly at it\)\.$/);
  });

  test('undecided prompts are not counted', () => {
    const text = splitSentence([...rows([0.5, 0.9]), { decision: null, confidence: null }], {
      percentile: 50,
      confidence: 0.7,
    });
    expect(text).toMatch(/1 prompts at or above it are confident, 1 below/);
  });
});

test('savingsCaveat: only an estimated baseline under global calibration is called biased', () => {
  expect(savingsCaveat({ calibration: 'global' }, true)).toMatch(/biased low and the savings understated/);
  expect(savingsCaveat({ calibration: 'global' }, false)).toBeNull();
  expect(savingsCaveat({ calibration: 'per-instance' }, true)).toBeNull();
});
