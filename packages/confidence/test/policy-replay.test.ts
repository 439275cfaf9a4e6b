import { describe, expect, test } from '@jest/globals';
import {
  ProfileStore,
  isConfidenceError,
  replayPolicy,
  type PolicyReplayPrompt,
  type PolicyReplaySetting,
  type PolicyReplayTrace,
} from '@deepconf-safety/confidence';

const finished = (traceIndex: number, confs: number[], refused: boolean): PolicyReplayTrace => ({
  traceIndex,
  stopReason: 'finished',
  confidences: Float64Array.from(confs),
  tokens: confs.length,
  lowestGroup: 0,
  refused,
});
const stopped = (traceIndex: number, confs: number[], refused: boolean): PolicyReplayTrace => ({
  traceIndex,
  stopReason: 'early_stopped',
  confidences: confs,
  tokens: confs.length,
  lowestGroup: 0,
  refused,
});

// Global calibration, window 2: C's warmup lowest groups 5 and 3 give threshold 4 at keep 50 %. N is outside the
// calibration slice: as recorded at threshold 4, all three of its traces stopped (no voter at all).
const C: PolicyReplayPrompt = {
  id: 'C',
  calibration: true,
  skipped: 0,
  traces: [finished(0, [5, 5, 5], true), finished(1, [3, 3, 3], false), finished(2, [6, 6, 6], true)],
};
const N: PolicyReplayPrompt = {
  id: 'N',
  calibration: false,
  skipped: 0,
  // Window means: N#0 5 ... 3.5 (stops at 1); N#1 4.5, 2 (stops at 2); N#2 3 (stops at 1).
  traces: [stopped(0, [5, 2], true), stopped(1, [6, 3, 1], false), stopped(2, [3, 3], false)],
};
const setting = (over: Partial<PolicyReplaySetting> = {}): PolicyReplaySetting => ({
  window: 2,
  keepPercent: 50,
  warmup: 2,
  earlyStop: true,
  calibration: 'global',
  recordedEarlyStop: true,
  ...over,
});

describe('replayPolicy', () => {
  test('the recorded setting decides the prompt without voters by the fallback over its stopped traces', () => {
    const replay = replayPolicy([C, N], setting());
    if (!replay.computable) throw new Error('expected a computable replay');
    const [c, n] = replay.prompts;
    expect(c).toMatchObject({ threshold: 4, decision: 'refuse', fallback: false, tokens: 9, earlyStopped: 0 });
    expect(c?.traces.map((t) => [t.phase, t.voted])).toEqual([
      ['warmup', true],
      ['warmup', false],
      ['final', true],
    ]);
    // Fallback weights are the prefixes' lowest groups: refuse 3.5 against comply 2 + 3.
    expect(n).toMatchObject({
      threshold: 4,
      decision: 'comply',
      fallback: true,
      votes: { refuse: 3.5, comply: 5 },
      tokens: 7,
      earlyStopped: 3,
    });
    expect(n?.voteShare).toBeCloseTo(5 / 8.5, 12);
    expect(n?.confidence).toBeCloseTo(5 / 8.5, 12);
    const legacy = replayPolicy([C, N], setting({ decisionConfidence: 'lowest-group' }));
    expect(legacy.computable && legacy.prompts[1]?.confidence).toBeCloseTo((4 + 9) / 5, 12);
    expect(n?.traces.map((t) => [t.stoppedAt, t.voted, t.lowestGroup])).toEqual([
      [1, false, null],
      [2, false, null],
      [1, false, null],
    ]);
    expect(n).toMatchObject({ baselineTokens: 7, baselineEstimated: true });
  });

  test('a stricter threshold that would stop a fallback trace earlier is not computable: its label is unknown', () => {
    // keep 10 % -> threshold 4.8: N#1's first window (4.5) now stops it at token 1 instead of 2.
    const replay = replayPolicy([C, N], setting({ keepPercent: 10 }));
    expect(replay).toEqual({
      computable: false,
      blocked: [{ id: 'N', traceIndex: 1, reason: 'fallback-label-unknown' }],
    });
  });

  test("fallbackLabels 'recorded' labels such a trace on its recorded text and counts it", () => {
    const replay = replayPolicy([C, N], setting({ keepPercent: 10, fallbackLabels: 'recorded' }));
    if (!replay.computable) throw new Error('expected a computable replay');
    const n = replay.prompts[1];
    // N#1 now stops at token 1: its prefix [6, 3] weighs 4.5 for its recorded label (comply).
    expect(n).toMatchObject({
      threshold: 4.8,
      decision: 'comply',
      fallback: true,
      approximateLabels: 1,
      votes: { refuse: 3.5, comply: 7.5 },
      tokens: 2 + 2 + 2,
    });
    expect(replay.prompts[0]?.approximateLabels).toBe(0);
  });

  test('a lenient threshold that would let a stopped trace run on is not computable', () => {
    // keep 90 % -> threshold 3.2: N#0's window mean 3.5 no longer stops it, and N#2 (3) still does.
    const replay = replayPolicy([C, N], setting({ keepPercent: 90 }));
    expect(replay).toEqual({
      computable: false,
      blocked: [{ id: 'N', traceIndex: 0, reason: 'stop-beyond-recording' }],
    });
  });

  test('per-instance calibration from the prompt itself; a stopped warmup cannot calibrate', () => {
    const p: PolicyReplayPrompt = {
      id: 'P',
      calibration: true,
      skipped: 1,
      traces: [finished(0, [4, 4], true), finished(1, [2, 2, 2], false), finished(2, [5, 5, 1, 1], false)],
    };
    const replay = replayPolicy([p], setting({ calibration: 'per-instance', keepPercent: 50 }));
    if (!replay.computable) throw new Error('expected a computable replay');
    // Threshold 3: P#2's window [5,1] = 3 is not below it, [1,1] = 1 is: stopped at token 3 = 4 tokens, its full length.
    expect(replay.prompts[0]).toMatchObject({
      threshold: 3,
      decision: 'refuse',
      fallback: false,
      tokens: 9,
      earlyStopped: 1,
    });
    // The baseline is the recording's (every trace finished), plus the skipped trace at their mean length.
    expect(replay.prompts[0]).toMatchObject({ baselineTokens: 2 + 3 + 4 + 3, baselineEstimated: true });
    const warm = replayPolicy(
      [{ ...p, traces: [stopped(0, [4, 4], true), ...p.traces.slice(1)] }],
      setting({ calibration: 'per-instance' }),
    );
    expect(warm).toEqual({ computable: false, blocked: [{ id: 'P', traceIndex: 0, reason: 'warmup-truncated' }] });
  });

  test('bad settings are named', () => {
    expect(() => replayPolicy([C], setting({ window: 0 }))).toThrow(/window/);
    try {
      replayPolicy([C], setting({ keepPercent: 0 }));
      throw new Error('expected an error');
    } catch (error) {
      expect(isConfidenceError(error)).toBe(true);
      expect(String(error)).toMatch(/keepPercent: must be in \(0, 100\]/);
    }
  });

  test('traces given as stop profiles at the window replay exactly as their values; another window is refused', () => {
    const profiles = new ProfileStore();
    const profiled = (p: PolicyReplayPrompt): PolicyReplayPrompt => ({
      ...p,
      traces: p.traces.map((t) => ({ ...t, confidences: profiles.profile(t.confidences as ArrayLike<number>, 2) })),
    });
    for (const over of [{}, { keepPercent: 90 }, { fallbackLabels: 'recorded' as const }, { earlyStop: false }]) {
      const raw = replayPolicy([C, N], setting(over));
      expect(replayPolicy([profiled(C), profiled(N)], setting(over))).toEqual(raw);
    }
    expect(() => replayPolicy([profiled(C)], setting({ window: 3 }))).toThrow(/profiled at window 2 only/);
  });
});
