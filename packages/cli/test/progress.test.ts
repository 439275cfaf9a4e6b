import { describe, expect, test } from '@jest/globals';
import type { RunProgress } from '@deepconf-safety/runner';
import { createProgress } from '../src/experiment/progress.js';

const p = (done: number, over: Partial<RunProgress> = {}): RunProgress => ({
  instancesDone: done,
  instancesTotal: 10,
  sessionTokens: 0,
  tokens: 0,
  baselineTokens: 0,
  earlyStopped: 0,
  errors: 0,
  ...over,
});

describe('plain progress lines (not a TTY)', () => {
  test('at most one line per interval, always the last one, with tokens/s, savings and ETA', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = createProgress({ tty: false, write: (l) => lines.push(l), now: () => now, intervalMs: 10_000 });
    progress.update(p(0));
    now = 2_000;
    progress.update(p(1, { sessionTokens: 400, tokens: 400, baselineTokens: 500 }));
    now = 12_000;
    progress.update(p(4, { sessionTokens: 2_400, tokens: 2_400, baselineTokens: 3_000, earlyStopped: 5 }));
    now = 13_000;
    progress.update(p(5, { sessionTokens: 2_600, tokens: 2_600, baselineTokens: 3_250 }));
    progress.stop();
    expect(lines).toEqual([
      '[experiment] 0/10 prompts, 0 tok/s, savings -, 0 traces stopped early, 0 errors, ETA ?',
      '[experiment] 4/10 prompts, 200 tok/s, savings 20.0%, 5 traces stopped early, 0 errors, ETA 18s',
      '[experiment] 5/10 prompts, 200 tok/s, savings 20.0%, 0 traces stopped early, 0 errors, ETA 13s',
    ]);
  });

  test('a resumed run estimates the ETA from the prompts done in this process only', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = createProgress({ tty: false, write: (l) => lines.push(l), now: () => now, intervalMs: 0 });
    progress.update(p(8));
    now = 10_000;
    progress.update(p(9));
    expect(lines.at(-1)).toMatch(/9\/10 prompts.*ETA 10s$/);
  });
});
