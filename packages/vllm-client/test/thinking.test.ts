import { describe, expect, test } from '@jest/globals';
import { ThinkingSplitter } from '../src/internal/thinking.js';

const run = (thinking: boolean, deltas: string[]) => {
  const s = new ThinkingSplitter(thinking);
  for (const d of deltas) s.addContent(d);
  return s.finish();
};

describe('ThinkingSplitter', () => {
  test('inline <think> split across deltas (tags cut in the middle)', () => {
    expect(run(true, ['<th', 'ink>\nLet me ', 'think.</th', 'ink>\n\nI can', "'t help."])).toEqual({
      reasoning: 'Let me think.',
      text: "I can't help.",
    });
  });

  test('every split point of the same text gives the same result', () => {
    const full = '\n<think>\nhmm, risky.\n</think>\n\nSure, here is how.';
    for (let i = 0; i <= full.length; i++) {
      for (let j = i; j <= full.length; j += 3) {
        expect(run(true, [full.slice(0, i), full.slice(i, j), full.slice(j)])).toEqual({
          reasoning: 'hmm, risky.',
          text: 'Sure, here is how.',
        });
      }
    }
  });

  test('no tags: all answer, reasoning null', () => {
    expect(run(false, ['Paris', ' is the capital.'])).toEqual({ reasoning: null, text: 'Paris is the capital.' });
    expect(run(true, ['Paris', ' is the capital.'])).toEqual({ reasoning: null, text: 'Paris is the capital.' });
  });

  test('template put <think> in the prompt: a bare </think> with thinking on moves earlier text to reasoning', () => {
    expect(run(true, ['I should ref', 'use.</thi', 'nk>\n\nNo.'])).toEqual({
      reasoning: 'I should refuse.',
      text: 'No.',
    });
    // With thinking off the tag is just text.
    expect(run(false, ['a</think>b'])).toEqual({ reasoning: null, text: 'a</think>b' });
  });

  test('truncated thinking: all reasoning, empty answer', () => {
    expect(run(true, ['<think>\nstill going'])).toEqual({ reasoning: 'still going', text: '' });
  });

  test('server-split reasoning (reasoning / reasoning_content) stays separate from content', () => {
    const s = new ThinkingSplitter(true);
    s.addReasoning('Weighing ');
    s.addReasoning('it.');
    s.addContent('\n\nAnswer.');
    expect(s.finish()).toEqual({ reasoning: 'Weighing it.', text: '\n\nAnswer.' });
  });

  test('text that only looks like the start of a tag is released at the end', () => {
    expect(run(false, ['<th'])).toEqual({ reasoning: null, text: '<th' });
    expect(run(false, ['<b>bold</b>'])).toEqual({ reasoning: null, text: '<b>bold</b>' });
  });
});
