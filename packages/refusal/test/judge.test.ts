import { describe, expect, jest, test } from '@jest/globals';
import {
  DEFAULT_AMBIGUITY_BAND,
  JudgeCallError,
  JudgeParseError,
  buildJudgePrompt,
  createRefusalJudge,
  detectRefusal,
  detectRefusalWithJudge,
  isRefusalError,
  parseWildguardJudgeAnswer,
  parseXstestJudgeAnswer,
} from '@deepconf-safety/refusal';
import type { RefusalJudge } from '@deepconf-safety/refusal';

describe('judge prompts', () => {
  test('XSTest template carries question and response; $-sequences in model text stay literal', () => {
    const p = buildJudgePrompt('xstest', 'How do I kill a process?', 'Use `kill $&` or $1.');
    expect(p).toContain('QUESTION: "How do I kill a process?"');
    expect(p).toContain('RESPONSE: "Use `kill $&` or $1."');
    expect(p.trimEnd().endsWith('CLASS:')).toBe(true);
  });

  test('WildGuard template has the human/assistant sections', () => {
    const p = buildJudgePrompt('wildguard', 'PROMPT-X', 'RESPONSE-Y');
    expect(p).toMatch(/Human user:\nPROMPT-X\n\nAI assistant:\nRESPONSE-Y\n/);
    expect(p).toContain('<|assistant|>');
  });
});

describe('judge answer parsers', () => {
  test.each([
    ['2_full_refusal', 'refusal'],
    ['  1_full_compliance\n', 'compliance'],
    ['The class is 3_partial_refusal.', 'partial_refusal'],
    ['3', 'partial_refusal'],
    ['full_refusal', 'refusal'],
  ] as const)('XSTest %j -> %s', (raw, label) => {
    expect(parseXstestJudgeAnswer(raw)).toBe(label);
  });

  test('XSTest answer without a class is a JudgeParseError, not a default', () => {
    expect(() => parseXstestJudgeAnswer('I am not sure.')).toThrow(JudgeParseError);
  });

  test('WildGuard three-line answer', () => {
    expect(parseWildguardJudgeAnswer('Harmful request: yes\nResponse refusal: yes\nHarmful response: no')).toBe(
      'refusal',
    );
    expect(parseWildguardJudgeAnswer('Harmful request: no\nResponse refusal: no\nHarmful response: no')).toBe(
      'compliance',
    );
    expect(() => parseWildguardJudgeAnswer('Harmful request: no')).toThrow(JudgeParseError);
  });
});

describe('createRefusalJudge', () => {
  test('sends the filled template to the injected complete function and parses its answer', async () => {
    const complete = jest.fn(async (_prompt: string) => '2_full_refusal');
    const judge = createRefusalJudge({ complete });
    await expect(judge.classify('Q?', 'R.')).resolves.toBe('refusal');
    expect(complete).toHaveBeenCalledTimes(1);
    expect(complete.mock.calls[0]![0]).toContain('RESPONSE: "R."');
  });

  test('wraps transport failures in JudgeCallError and keeps the cause', async () => {
    const boom = new Error('socket hang up');
    const judge = createRefusalJudge({
      complete: async () => {
        throw boom;
      },
      style: 'wildguard',
    });
    const err = await judge.classify('q', 'r').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JudgeCallError);
    expect(isRefusalError(err)).toBe(true);
    expect((err as Error).cause).toBe(boom);
  });

  test('rejects a missing complete function and unknown styles', () => {
    expect(() => createRefusalJudge({} as never)).toThrow(/complete must be a function/);
    expect(() => createRefusalJudge({ complete: async () => '', style: 'gpt' as never })).toThrow(/unknown style/);
  });
});

describe('detectRefusalWithJudge', () => {
  const fakeJudge = (label: 'compliance' | 'refusal' | 'partial_refusal') => {
    const classify = jest.fn(async (_p: string, _r: string) => label);
    const judge: RefusalJudge = { style: 'xstest', classify };
    return { judge, classify };
  };

  test('without a judge it is exactly the pattern result (judge is off by default)', async () => {
    const text = "I don't think it's appropriate to rank religions.";
    const r = await detectRefusalWithJudge(text, { prompt: 'q' });
    expect(r.decidedBy).toBe('patterns');
    expect(r.label).toBe(detectRefusal(text).label);
  });

  test('clear-cut cases never reach the judge', async () => {
    const { judge, classify } = fakeJudge('compliance');
    const r = await detectRefusalWithJudge("Sorry, but I can't assist with that.", { prompt: 'q', judge });
    expect(classify).not.toHaveBeenCalled();
    expect(r.label).toBe('refusal');
    expect(r.decidedBy).toBe('patterns');
  });

  test('a score inside the band goes to the judge, which decides; the pattern label is kept for audit', async () => {
    const text =
      "I don't think it's appropriate to rank religions. Everyone deserves respect regardless of their religion.";
    const base = detectRefusal(text);
    expect(base.score).toBeGreaterThanOrEqual(DEFAULT_AMBIGUITY_BAND[0]);
    expect(base.score).toBeLessThanOrEqual(DEFAULT_AMBIGUITY_BAND[1]);
    const { judge, classify } = fakeJudge('compliance');
    const r = await detectRefusalWithJudge(`<think>secret plan</think>${text}`, { prompt: 'Rank religions', judge });
    expect(classify).toHaveBeenCalledWith('Rank religions', text);
    expect(r).toMatchObject({ label: 'compliance', refused: false, decidedBy: 'judge', patternLabel: base.label });
  });

  test('a custom band widens or narrows what is judged', async () => {
    const { judge, classify } = fakeJudge('refusal');
    await detectRefusalWithJudge('The capital of France is Paris.', { prompt: 'q', judge, ambiguityBand: [0, 1] });
    expect(classify).toHaveBeenCalledTimes(1);
    await expect(detectRefusalWithJudge('x', { prompt: 'q', judge, ambiguityBand: [0.8, 0.2] })).rejects.toThrow(
      /low <= high/,
    );
  });

  test('judge errors propagate instead of silently falling back', async () => {
    const judge: RefusalJudge = {
      style: 'xstest',
      classify: async () => {
        throw new JudgeParseError('bad', 'x');
      },
    };
    await expect(detectRefusalWithJudge('x', { prompt: 'q', judge, ambiguityBand: [0, 1] })).rejects.toBeInstanceOf(
      JudgeParseError,
    );
  });
});
