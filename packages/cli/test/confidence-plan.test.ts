import { describe, expect, test } from '@jest/globals';
import type { ServerProbe } from '@deepconf-safety/vllm-client';
import { RunnerConfigError, planConfidence, serverLogprobsLimit } from '@deepconf-safety/runner';

const chat = (serverMax: number | null, requested: number | null = null) =>
  planConfidence({ endpoint: 'chat', requested, defaultK: 20, serverMax });
const completions = (serverMax: number | null, requested: number | null = null) =>
  planConfidence({ endpoint: 'completions', requested, defaultK: 20, serverMax });

describe('planConfidence (chat)', () => {
  test('K+1 allowed, or no known limit: exact top-20, no warning', () => {
    expect(chat(21)).toEqual({ topLogprobs: 20, confidenceMode: 'exact', warning: null });
    expect(chat(null)).toEqual({ topLogprobs: 20, confidenceMode: 'exact', warning: null });
    expect(chat(40, 30)).toEqual({ topLogprobs: 30, confidenceMode: 'exact', warning: null });
  });

  test('exactly K allowed (stock vLLM): chat-view at K with one warning that says how to get the exact definition', () => {
    for (const requested of [null, 20]) {
      const plan = chat(20, requested);
      expect(plan).toMatchObject({ topLogprobs: 20, confidenceMode: 'chat-view' });
      expect(plan.warning).toMatch(/^warning: /);
      expect(plan.warning).not.toContain('\n');
      expect(plan.warning).toMatch(/--max-logprobs 21/);
    }
  });

  test('below K: the default K falls back to the limit (chat-view, warned); an explicit K is refused naming both flags', () => {
    const plan = chat(10);
    expect(plan).toMatchObject({ topLogprobs: 10, confidenceMode: 'chat-view' });
    expect(plan.warning).toMatch(/top 10 .* instead of DeepConf's 20.*--max-logprobs 21/);
    expect(() => chat(10, 20)).toThrow(RunnerConfigError);
    expect(() => chat(10, 20)).toThrow(/--top-logprobs 20: .*at most 10.*--max-logprobs 21, or pass --top-logprobs 10/);
    expect(() => chat(0)).toThrow(/accepts no logprobs.*--max-logprobs 21/);
  });
});

describe('planConfidence (completions)', () => {
  test('the dict is the reference set, so K logprobs suffice; below K it falls back (default) or refuses (explicit)', () => {
    expect(completions(20)).toEqual({ topLogprobs: 20, confidenceMode: 'exact', warning: null });
    expect(completions(12)).toMatchObject({ topLogprobs: 12, confidenceMode: 'exact' });
    expect(completions(12).warning).toMatch(/top 12 instead of DeepConf's 20.*--max-logprobs 20/);
    expect(() => completions(12, 20)).toThrow(/--top-logprobs 20: .*at most 12 logprobs and completions needs 20/);
  });
});

describe('serverLogprobsLimit', () => {
  const p = (maxTopLogprobs: number | null, healthy = true): ServerProbe => ({
    baseURL: 'http://x/v1',
    healthy,
    models: ['m'],
    version: null,
    emulated: false,
    maxTopLogprobs,
    maxModelLen: null,
    error: null,
  });

  test('the smallest refused limit of the healthy endpoints; an accepted probe value is a lower bound, not a limit', () => {
    expect(serverLogprobsLimit([p(21), p(20)], 21)).toBe(20);
    expect(serverLogprobsLimit([p(21), p(null)], 21)).toBeNull();
    expect(serverLogprobsLimit([p(5, false), p(21)], 21)).toBeNull();
    expect(serverLogprobsLimit([p(20), p(12)], 21)).toBe(12);
  });
});
