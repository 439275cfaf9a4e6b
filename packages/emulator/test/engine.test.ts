import { describe, expect, test } from '@jest/globals';
import { Engine, MAX_CATCH_UP, type EngineJob } from '../src/engine.js';

/** A job that records each step call; `length` tokens in all. */
function recordingJob(
  length: number,
): EngineJob & { calls: { steps: number; merge: boolean }[]; produced: number; close(): void } {
  let closed = false;
  const job = {
    seqs: 1,
    slowFactor: 1,
    calls: [] as { steps: number; merge: boolean }[],
    produced: 0,
    close() {
      closed = true;
    },
    isClosed: () => closed,
    isPaused: () => false,
    isDone: () => job.produced >= length,
    isFailed: () => false,
    step(steps: number, merge: boolean) {
      job.calls.push({ steps, merge });
      const n = Math.min(steps, length - job.produced);
      job.produced += n;
      return n;
    },
    abort() {},
    fail() {},
  };
  return job;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('Engine pacing after a stall', () => {
  test(`a late timer yields at most ${MAX_CATCH_UP} (≤ 4) tokens per sequence per tick; the backlog is worked off over later ticks`, async () => {
    let now = 0;
    const engine = new Engine({ maxNumSeqs: 4, ttftMs: () => 0, tokensPerSecond: () => 100, now: () => now });
    const job = recordingJob(1000);
    try {
      engine.submit(job);
      await turn();
      await turn();
      expect(MAX_CATCH_UP).toBeLessThanOrEqual(4);
      const punctual = job.produced;
      expect(punctual).toBe(1); // the first token is due at once
      now = 1000; // the clock jumps a second: 100 steps are due
      engine.kick();
      for (let i = 0; i < 60 && job.produced < 101; i++) await turn();
      expect(job.produced).toBe(101);
      const catchUp = job.calls.slice(1);
      expect(catchUp.length).toBeGreaterThanOrEqual(Math.ceil(100 / MAX_CATCH_UP));
      for (const c of catchUp) {
        expect(c.steps).toBeLessThanOrEqual(MAX_CATCH_UP);
        expect(c.merge).toBe(c.steps > 1);
      }
    } finally {
      engine.stop();
    }
  });

  test('a sequence closed during the backlog gets no further steps', async () => {
    let now = 0;
    const engine = new Engine({ maxNumSeqs: 4, ttftMs: () => 0, tokensPerSecond: () => 100, now: () => now });
    const job = recordingJob(1000);
    try {
      engine.submit(job);
      await turn();
      now = 1000;
      engine.kick();
      await turn();
      await turn();
      job.close();
      const atClose = job.produced;
      expect(atClose).toBeLessThan(101);
      for (let i = 0; i < 10; i++) await turn();
      expect(job.produced).toBe(atClose);
      expect(engine.snapshot().activeSequences).toBe(0);
      expect(engine.counters.abortedRequests).toBe(1);
    } finally {
      engine.stop();
    }
  });
});
