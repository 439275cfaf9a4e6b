import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  StopMonitor,
  baselineTokens,
  calibrate,
  decidePrompt,
  findStopIndex,
  hasConsensus,
  isVoter,
  type VotingTrace,
} from '@deepconf-safety/confidence';

const voter = (lowestGroup: number, refused: boolean, phase: VotingTrace['phase'] = 'final'): VotingTrace => ({
  phase,
  stopReason: 'finished',
  lowestGroup,
  refused,
});

describe('calibrate', () => {
  test('keep 10% (DeepConf-low) takes the 90th percentile of warmup lowest groups, keep 90% the 10th', () => {
    const warm = [1, 2, 3, 4, 5];
    expect(calibrate(warm, 10)).toBeCloseTo(4.6, 12);
    expect(calibrate(warm, 90)).toBeCloseTo(1.4, 12);
  });
  test('no usable warmup gives no threshold', () => {
    expect(calibrate([], 10)).toBeNull();
    expect(calibrate([Number.NaN], 10)).toBeNull();
  });
});

describe('StopMonitor / findStopIndex', () => {
  test('never stops before the window is full, even on very low confidence', () => {
    const m = new StopMonitor(4, 10);
    expect([m.push(0), m.push(0), m.push(0)]).toEqual([false, false, false]);
    expect(m.push(0)).toBe(true);
    expect(m.stoppedAt).toBe(3);
  });
  test('stops at the first token whose full window mean is strictly below the threshold', () => {
    // windows of 3: [5,5,5]=5, [5,5,2]=4, [5,2,2]=3, [2,2,2]=2
    expect(findStopIndex([5, 5, 5, 2, 2, 2], 3, 3)).toBe(5);
    expect(findStopIndex([5, 5, 5, 2, 2, 2], 3, 3.0001)).toBe(4);
    expect(findStopIndex([5, 5, 5, 2, 2, 2], 3, 2)).toBeNull();
  });
  test('no threshold never stops', () => {
    expect(findStopIndex([0, 0, 0, 0], 2, null)).toBeNull();
  });
  test('the replay index equals the online monitor on random sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        (confs, w, t) => {
          const m = new StopMonitor(w, t);
          let online: number | null = null;
          for (const c of confs)
            if (m.push(c)) {
              online = m.stoppedAt;
              break;
            }
          expect(findStopIndex(confs, w, t)).toBe(online);
        },
      ),
    );
  });
});

describe('voters and the vote', () => {
  test('stopped and failed traces never vote; others vote iff lowestGroup >= threshold', () => {
    expect(isVoter({ phase: 'final', stopReason: 'early_stopped', lowestGroup: 9, refused: true }, 1)).toBe(false);
    expect(isVoter({ phase: 'final', stopReason: 'error', lowestGroup: null, refused: null }, null)).toBe(false);
    expect(isVoter(voter(2, true, 'warmup'), 2)).toBe(true);
    expect(isVoter(voter(1.99, true, 'warmup'), 2)).toBe(false);
    expect(isVoter(voter(1.99, true, 'final'), 2)).toBe(false);
    expect(isVoter({ phase: 'final', stopReason: 'length', lowestGroup: 3, refused: false }, 2)).toBe(true);
    expect(isVoter(voter(0.5, false), null)).toBe(true);
  });

  test('weighted by lowest group: two weak refusals lose to one strong compliance', () => {
    const d = decidePrompt([voter(1, true), voter(1, true), voter(3, false)], null);
    expect(d.decision).toBe('comply');
    expect(d.votes).toEqual({ refuse: 2, comply: 3 });
    expect(d.voteShare).toBeCloseTo(0.6, 12);
    // Default decision confidence: the weighted share of the winning answer.
    expect(d.confidence).toBeCloseTo(0.6, 12);
    expect(d.voted).toEqual([true, true, true]);
  });

  test('lowest-group (the old definition) is the vote-weighted mean lowest group of the winners: sum(c^2)/sum(c)', () => {
    const d = decidePrompt([voter(2, true), voter(4, true), voter(1, false)], null, {
      decisionConfidence: 'lowest-group',
    });
    expect(d.decision).toBe('refuse');
    expect(d.confidence).toBeCloseTo((4 + 16) / 6, 12);
  });

  test('vote-share and margin rank a unanimous vote above a split one; lowest-group does not', () => {
    const split = [voter(9, true), voter(8.9, false)];
    const unanimous = [voter(5, true), voter(5, true)];
    const share = (v: VotingTrace[], decisionConfidence: 'vote-share' | 'margin' | 'lowest-group') =>
      decidePrompt(v, null, { decisionConfidence }).confidence!;
    expect(share(split, 'vote-share')).toBeCloseTo(9 / 17.9, 12);
    expect(share(unanimous, 'vote-share')).toBe(1);
    expect(share(split, 'margin')).toBeCloseTo(0.1 / 17.9, 12);
    expect(share(unanimous, 'margin')).toBe(1);
    // The flaw that made vote-share the default: a 50.3 % vote outscores a unanimous one.
    expect(share(split, 'lowest-group')).toBeGreaterThan(share(unanimous, 'lowest-group'));
  });

  test('majority vote counts voters (ties to the first answer seen), as the official main branch', () => {
    const v = [voter(1, true), voter(1, true), voter(9, false)];
    expect(decidePrompt(v, null).decision).toBe('comply');
    const m = decidePrompt(v, null, { vote: 'majority' });
    expect(m).toMatchObject({ decision: 'refuse', votes: { refuse: 2, comply: 1 } });
    expect(m.confidence).toBeCloseTo(2 / 3, 12);
    expect(decidePrompt([voter(1, false), voter(9, true)], null, { vote: 'majority' }).decision).toBe('comply');
    expect(hasConsensus(v, null, 0.9, { vote: 'majority' })).toBe(false);
    expect(hasConsensus([voter(1, true), voter(1, true)], null, 0.9, { vote: 'majority' })).toBe(true);
  });

  test('below-threshold traces are left out of the vote', () => {
    const d = decidePrompt([voter(5, true, 'warmup'), voter(1, false, 'warmup'), voter(1, false), voter(1, false)], 2);
    expect(d.decision).toBe('refuse');
    expect(d.voted).toEqual([true, false, false, false]);
  });

  test('no voters and the fallback off means no decision', () => {
    const d = decidePrompt([{ phase: 'final', stopReason: 'early_stopped', lowestGroup: 1, refused: true }], 2, {
      fallback: false,
    });
    expect(d).toMatchObject({ decision: null, confidence: null, voteShare: null, fallback: false });
  });

  test('no voters: the fallback weighs every answered trace, stopped ones on the text they produced', () => {
    const stopped = (lowestGroup: number, refused: boolean): VotingTrace => ({
      phase: 'final',
      stopReason: 'early_stopped',
      lowestGroup,
      refused,
    });
    const d = decidePrompt(
      [
        stopped(1, true),
        stopped(1.5, true),
        stopped(3, false),
        { phase: 'final', stopReason: 'error', lowestGroup: null, refused: null },
      ],
      4,
    );
    expect(d.fallback).toBe(true);
    expect(d.decision).toBe('comply');
    expect(d.votes).toEqual({ refuse: 2.5, comply: 3 });
    expect(d.voteShare).toBeCloseTo(3 / 5.5, 12);
    expect(d.confidence).toBeCloseTo(3 / 5.5, 12);
    // Nobody is a DeepConf voter: `voted` keeps meaning that.
    expect(d.voted).toEqual([false, false, false, false]);
  });

  test('the fallback never overrides a real voter, and nothing to weigh stays undecided', () => {
    const d = decidePrompt(
      [voter(5, true), { phase: 'final', stopReason: 'early_stopped', lowestGroup: 9, refused: false }],
      4,
    );
    expect(d).toMatchObject({ decision: 'refuse', fallback: false, votes: { refuse: 5, comply: 0 } });
    const none = decidePrompt(
      [
        { phase: 'final', stopReason: 'error', lowestGroup: null, refused: null },
        { phase: 'final', stopReason: 'early_stopped', lowestGroup: Number.NaN, refused: true },
      ],
      4,
    );
    expect(none).toMatchObject({ decision: null, fallback: false });
  });

  test('adaptive sampling ignores the fallback: stopped traces alone are never a consensus', () => {
    expect(
      hasConsensus([{ phase: 'final', stopReason: 'early_stopped', lowestGroup: 5, refused: true }], 6, 0.95),
    ).toBe(false);
  });

  test('consensus needs the leading share to reach tau', () => {
    expect(hasConsensus([voter(5, true), voter(5, true)], null, 0.95)).toBe(true);
    expect(hasConsensus([voter(5, true), voter(1, false)], null, 0.95)).toBe(false);
    expect(hasConsensus([], null, 0.95)).toBe(false);
  });
});

describe('baselineTokens', () => {
  test('exact when nothing was stopped', () => {
    expect(
      baselineTokens([
        { stopReason: 'finished', tokens: 10 },
        { stopReason: 'length', tokens: 30 },
      ]),
    ).toEqual({ baselineTokens: 40, estimated: false });
  });
  test('a stopped trace counts as the mean completed length (at least its own length), labelled estimated', () => {
    const traces = [
      { stopReason: 'finished' as const, tokens: 10 },
      { stopReason: 'finished' as const, tokens: 30 },
      { stopReason: 'early_stopped' as const, tokens: 5 },
      { stopReason: 'early_stopped' as const, tokens: 50 },
    ];
    expect(baselineTokens(traces)).toEqual({ baselineTokens: 10 + 30 + 20 + 50, estimated: true });
  });
  test('traces skipped by adaptive sampling are estimated at the mean too', () => {
    expect(baselineTokens([{ stopReason: 'finished', tokens: 8 }], 2)).toEqual({ baselineTokens: 24, estimated: true });
  });
  // The warmups (20 and 40 tokens) ran in full whatever their confidence; the finished final trace (10) passed
  // the confidence filter, so it must not set the estimate.
  const withWarmups = [
    { phase: 'warmup' as const, stopReason: 'finished' as const, tokens: 20 },
    { phase: 'warmup' as const, stopReason: 'length' as const, tokens: 40 },
    { phase: 'final' as const, stopReason: 'finished' as const, tokens: 10 },
    { phase: 'final' as const, stopReason: 'early_stopped' as const, tokens: 5 },
    { phase: 'final' as const, stopReason: 'early_stopped' as const, tokens: 35 },
  ];
  test('with warmup traces, every final trace of a prompt with a stop counts as the warmup mean (default)', () => {
    expect(baselineTokens(withWarmups)).toEqual({ baselineTokens: 20 + 40 + 3 * 30, estimated: true });
    expect(baselineTokens(withWarmups, 1)).toEqual({ baselineTokens: 20 + 40 + 4 * 30, estimated: true });
  });
  test('without warmup traces, a stopped trace counts as the mean of the completed traces longer than its stop', () => {
    const none = [
      { stopReason: 'finished' as const, tokens: 20 },
      { phase: 'final' as const, stopReason: 'early_stopped' as const, tokens: 25 },
    ];
    expect(baselineTokens(none)).toEqual({ baselineTokens: 20 + 25, estimated: true });
  });
  test('with warmup traces and no stop, the baseline is exact', () => {
    const exact = withWarmups.slice(0, 3);
    expect(baselineTokens(exact)).toEqual({ baselineTokens: 70, estimated: false });
  });
});
