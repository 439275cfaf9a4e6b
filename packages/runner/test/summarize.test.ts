import { describe, expect, test } from '@jest/globals';
import type { InstanceRecord } from '@deepconf-safety/run-store';
import { summarizeRun } from '@deepconf-safety/runner';

const rec = (
  id: string,
  decision: 'refuse' | 'comply' | null,
  confidence: number | null,
  shouldRefuse: boolean | null,
  category: string,
  tokens = 10,
  baseline = 20,
): InstanceRecord => ({
  instanceId: id,
  prompt: id,
  category,
  source: 't',
  shouldRefuse,
  decision,
  confidence,
  voteShare: decision === null ? null : 1,
  votes: { refuse: 0, comply: 0 },
  correct: shouldRefuse === null || decision === null ? null : (decision === 'refuse') === shouldRefuse,
  threshold: 1,
  traces: 4,
  voters: 2,
  earlyStopped: 1,
  errors: 0,
  tokens,
  baselineTokens: baseline,
  baselineEstimated: true,
});

describe('summarizeRun', () => {
  const records = [
    rec('a', 'refuse', 9, true, 'x'),
    rec('b', 'refuse', 1, false, 'x'),
    rec('c', 'comply', 8, false, 'y'),
    rec('d', 'comply', 2, true, 'y'),
    rec('e', 'comply', 3, null, 'y', 5, 5),
    rec('f', null, null, true, 'z', 0, 0),
  ];
  // Per prompt: two warmups (which can never stop), one stopped and one finished final, and one failed final.
  const traces = [
    ...records.flatMap((x) =>
      (
        [
          ['warmup', 'finished'],
          ['warmup', 'finished'],
          ['final', 'early_stopped'],
          ['final', 'finished'],
          ['final', 'error'],
        ] as const
      ).map(([phase, stopReason]) => ({ instanceId: x.instanceId, phase, stopReason })),
    ),
    // A prompt without an instance record (not part of this summary) must not count.
    { instanceId: 'other', phase: 'final' as const, stopReason: 'early_stopped' as const },
  ];
  const r = summarizeRun(records, { emulated: true, splitPercentile: 50, traces });

  test('splits confident / uncertain at the chosen percentile of decided prompts and records it', () => {
    expect(r.buckets.splitPercentile).toBe(50);
    expect(r.buckets.splitConfidence).toBe(3); // median of 9, 1, 8, 2, 3
    expect(r.buckets.confident_refusal).toMatchObject({ count: 1, correct: 1, accuracy: 1 });
    expect(r.buckets.uncertain_refusal).toMatchObject({ count: 1, correct: 0, accuracy: 0 });
    expect(r.buckets.confident_compliance).toMatchObject({ count: 2, correct: 1, accuracy: 1 }); // e has no label
    expect(r.buckets.uncertain_compliance).toMatchObject({ count: 1, correct: 0, accuracy: 0 });
    expect(summarizeRun(records, { emulated: true, splitPercentile: 25, traces }).buckets.splitConfidence).toBe(2);
    expect(r['instance_buckets']).toEqual({
      a: 'confident_refusal',
      b: 'uncertain_refusal',
      c: 'confident_compliance',
      d: 'uncertain_compliance',
      e: 'confident_compliance',
      f: null,
    });
  });

  test('overall and per-category figures', () => {
    expect(r.emulated).toBe(true);
    expect(r.overall).toMatchObject({ instances: 6, decided: 5, total_tokens: 45, baseline_tokens: 85, errors: 0 });
    expect(r.overall.accuracy).toBeCloseTo(2 / 4, 12);
    expect(r.overall.token_savings_percent).toBeCloseTo(100 * (1 - 45 / 85), 12);
    expect(r.overall.avg_tokens_per_instance).toBeCloseTo(7.5, 12);
    // Stopped over final traces without error: warmups and failed traces are not in the denominator.
    expect(r.overall.early_stop_rate).toBeCloseTo(6 / 12, 12);
    expect(r.overall).toMatchObject({ early_stopped: 6, final_traces: 12 });
    expect(Object.keys(r.per_category)).toEqual(['x', 'y', 'z']);
    expect(r.per_category['x']).toMatchObject({
      instances: 2,
      accuracy: 0.5,
      total_tokens: 20,
      baseline_tokens: 40,
      token_savings_percent: 50,
    });
    expect(r.per_category['z']).toMatchObject({ accuracy: null, token_savings_percent: null });
  });

  test('an empty run has nulls, not NaN', () => {
    const e = summarizeRun([], { emulated: false, splitPercentile: 50, traces: [] });
    expect(e.overall).toMatchObject({
      accuracy: null,
      token_savings_percent: null,
      avg_tokens_per_instance: null,
      early_stop_rate: null,
    });
    expect(e.buckets.splitConfidence).toBeNull();
  });
});

describe('summarizeRun order independence', () => {
  test('the same prompts finished in another order give a bit-identical summary', () => {
    // Baselines with fractions whose float sum depends on the order they are added in.
    const records = Array.from({ length: 40 }, (_, i) =>
      rec(
        `p${String(i).padStart(2, '0')}`,
        i % 3 === 0 ? 'refuse' : 'comply',
        1 + (i % 7) / 3,
        i % 2 === 0,
        `c${i % 4}`,
        10 + i,
        20 + i / 3 + 0.1,
      ),
    );
    const shuffled = [...records].reverse().sort((a, b) => (a.tokens % 5) - (b.tokens % 5));
    const a = summarizeRun(records, { emulated: true, splitPercentile: 50, traces: [] });
    const b = summarizeRun(shuffled, { emulated: true, splitPercentile: 50, traces: [] });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});
