import { describe, expect, test } from '@jest/globals';
import { maskQuotations, normalizeForMatching, splitSentences, splitThinking } from '@deepconf-safety/refusal';

describe('splitThinking', () => {
  test('separates a closed <think> block and reports where the answer starts', () => {
    const text = '<think>I should refuse? No, this is fine.</think>\n\nHere is the recipe.';
    const s = splitThinking(text);
    expect(s.thinking).toBe('I should refuse? No, this is fine.');
    expect(text.slice(s.answerOffset)).toBe(s.answer);
    expect(s.answer.trim()).toBe('Here is the recipe.');
    expect(s.unclosed).toBe(false);
  });

  test('a lone closing tag ends the thinking (template put <think> in the prompt)', () => {
    const s = splitThinking('reasoning here</think>Answer.');
    expect(s.thinking).toBe('reasoning here');
    expect(s.answer).toBe('Answer.');
  });

  test('an unclosed <think> leaves no answer and is flagged', () => {
    const s = splitThinking('  <think>still reasoning about whether I can');
    expect(s.answer).toBe('');
    expect(s.unclosed).toBe(true);
  });

  test('text without tags is all answer', () => {
    expect(splitThinking('Plain answer.')).toEqual({
      thinking: null,
      answer: 'Plain answer.',
      answerOffset: 0,
      unclosed: false,
    });
  });

  test('accepts <thinking> and any case', () => {
    expect(splitThinking('<THINKING>x</Thinking>y').answer).toBe('y');
  });
});

describe('normalizeForMatching', () => {
  test('straightens typographic quotes, blanks markdown, lower-cases, keeps length', () => {
    const raw = '**I\u2019m Sorry** \u201Cno\u201D # _x_';
    const norm = normalizeForMatching(raw);
    expect(norm).toBe('  i\'m sorry   "no"    x ');
    expect(norm.length).toBe(raw.length);
  });
});

describe('splitSentences', () => {
  test('splits on sentence ends and line breaks, keeping list items whole', () => {
    const norm = 'i cannot help. however, here are tips:\n1. read the manual.\n2. ask a friend!';
    const parts = splitSentences(norm).map((s) => s.text);
    expect(parts).toEqual(['i cannot help.', 'however, here are tips:', '1. read the manual.', '2. ask a friend!']);
  });

  test('offsets slice back to the sentence text', () => {
    const norm = '  first one.   second one?\n\nthird';
    for (const s of splitSentences(norm)) expect(norm.slice(s.start, s.end)).toBe(s.text);
  });
});

describe('maskQuotations', () => {
  test('blanks long quoted dialogue but keeps short quoted phrases', () => {
    const masked = maskQuotations('he said "i\'m sorry, but i can\'t let you in" and the term "kill" is fine');
    expect(masked).not.toContain("can't");
    expect(masked).toContain('"kill"');
    expect(masked.length).toBe('he said "i\'m sorry, but i can\'t let you in" and the term "kill" is fine'.length);
  });
});
