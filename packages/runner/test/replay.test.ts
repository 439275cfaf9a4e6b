import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RunStore,
  isRunStoreError,
  runConfig,
  encodeConfidences,
  type InstanceRecord,
  type TraceRecord,
} from '@deepconf-safety/run-store';
import {
  RunnerConfigError,
  loadRecording,
  offlineVotes,
  paretoFront,
  replayRun,
  sweepRecording,
  traceMetrics,
  type RecordedSettings,
  type Recording,
} from '@deepconf-safety/runner';

const flat = (value: number, n: number): number[] => Array.from({ length: n }, () => value);

interface HandTrace {
  confs: readonly number[];
  refused: boolean;
  stopReason?: TraceRecord['stopReason'];
}

const SETTINGS: RecordedSettings = {
  traces: 4,
  warmup: 2,
  window: 4,
  keepPercent: 50,
  calibration: 'per-instance',
  earlyStop: false,
  consensusTau: null,
  splitPercentile: 50,
  decisionConfidence: 'lowest-group',
  vote: 'weighted',
};

function traceRecord(
  instanceId: string,
  traceIndex: number,
  t: HandTrace,
  warmup: number,
  window: number,
): TraceRecord {
  const error = t.stopReason === 'error';
  const m = traceMetrics(t.confs, window);
  return {
    instanceId,
    traceIndex,
    phase: traceIndex < warmup ? 'warmup' : 'final',
    stopReason: t.stopReason ?? 'finished',
    stoppedAtToken: t.stopReason === 'early_stopped' ? t.confs.length - 1 : null,
    tokens: error ? 0 : t.confs.length,
    confidences: error ? '' : encodeConfidences(t.confs),
    lowestGroup: error ? null : m.lowestGroup,
    bottom10: error ? null : m.bottom10,
    tail: error ? null : m.tail,
    mean: error ? null : m.mean,
    threshold: null,
    voted: false,
    text: '',
    reasoning: null,
    refusal: error ? null : { label: t.refused ? 'refusal' : 'compliance', refused: t.refused, score: 1, evidence: [] },
    endpoint: null,
    attempts: 1,
    latencyMs: null,
    error: error ? 'boom' : null,
  };
}

function instanceRecord(id: string, shouldRefuse: boolean | null): InstanceRecord {
  return {
    instanceId: id,
    prompt: `prompt ${id}`,
    category: 'cat',
    source: 'hand',
    shouldRefuse,
    decision: null,
    confidence: null,
    voteShare: null,
    votes: { refuse: 0, comply: 0 },
    correct: null,
    threshold: null,
    traces: 0,
    voters: 0,
    earlyStopped: 0,
    errors: 0,
    tokens: 0,
    baselineTokens: 0,
    baselineEstimated: false,
  };
}

/** A recording built in memory from hand-made confidence arrays. */
function recording(
  prompts: Array<{ id: string; shouldRefuse: boolean | null; traces: HandTrace[] }>,
  over: Partial<RecordedSettings> = {},
): Recording {
  const settings = { ...SETTINGS, ...over };
  let earlyStoppedTraces = 0;
  const instances = prompts.map((p) => {
    const traces = p.traces.map((t, i) => {
      if (t.stopReason === 'early_stopped') earlyStoppedTraces++;
      const record = traceRecord(p.id, i, t, settings.warmup, settings.window);
      return { record, confidences: Float64Array.from(t.stopReason === 'error' ? [] : t.confs) };
    });
    return { record: instanceRecord(p.id, p.shouldRefuse), traces, calibration: true };
  });
  return {
    dir: '(memory)',
    manifest: {
      runId: 'hand',
      status: 'completed',
      startedAt: '',
      updatedAt: '',
      finishedAt: null,
      formatVersion: 2,
      config: runConfig(),
      derived: { instancesHash: null, server: null, confidenceMode: null },
      configHash: '',
      versions: {},
      gitCommit: null,
      server: { emulated: false, baseUrls: [] },
      emulated: false,
    },
    settings,
    emulated: false,
    instances,
    unfinished: [],
    earlyStoppedTraces,
  };
}

// Prompt A: warmup lowest groups 5 (refuse) and 3 (comply). keep 50 -> threshold 4: final #2 (flat 6, refuse) votes,
// final #3 drops to 1 and its window [6,6,1,1] = 3.5 < 4 stops it at token index 5 (6 tokens).
const promptA = {
  id: 'A',
  shouldRefuse: true,
  traces: [
    { confs: flat(5, 12), refused: true },
    { confs: flat(3, 12), refused: false },
    { confs: flat(6, 10), refused: true },
    { confs: [6, 6, 6, 6, ...flat(1, 8)], refused: false },
  ],
};

describe('replayRun on hand-made confidences', () => {
  test('calibrates from the warmup, stops where the online rule would, counts i + 1 tokens and votes', () => {
    const rec = recording([promptA]);
    const replay = replayRun(rec, { window: 4, keepPercent: 50, warmup: 2 });
    if (!replay.computable) throw new Error('not computable');
    const [inst] = replay.instances;
    expect(inst).toMatchObject({
      decision: 'refuse',
      threshold: 4,
      votes: { refuse: 11, comply: 0 },
      voters: 2,
      earlyStopped: 1,
      tokens: 12 + 12 + 10 + 6,
      baselineTokens: 46,
      correct: true,
    });
    expect(inst?.confidence).toBeCloseTo((25 + 36) / 11, 12);
    expect(replay.traces.map((t) => [t.stopReason, t.stoppedAt, t.tokens, t.voted])).toEqual([
      ['finished', null, 12, true],
      ['finished', null, 12, false],
      ['finished', null, 10, true],
      ['early_stopped', 5, 6, false],
    ]);
    expect(replay.results.overall).toMatchObject({
      instances: 1,
      decided: 1,
      total_tokens: 40,
      baseline_tokens: 46,
      accuracy: 1,
      early_stop_rate: 0.5,
    }); // 1 of 2 final traces
  });

  test('a lower threshold (DeepConf-high) lets the dipping trace run further before it stops', () => {
    // keep 90 -> 10th percentile of [3, 5] = 3.2; [6,6,1,1] = 3.5 passes, [6,1,1,1] = 2.25 stops at index 6.
    const replay = replayRun(recording([promptA]), { window: 4, keepPercent: 90, warmup: 2 });
    if (!replay.computable) throw new Error('not computable');
    expect(replay.instances[0]?.threshold).toBeCloseTo(3.2, 12);
    expect(replay.traces[3]).toMatchObject({ stopReason: 'early_stopped', stoppedAt: 6, tokens: 7 });
    // Warmup #1 (3 < 3.2) still may not vote; it is never stopped though.
    expect(replay.traces[1]).toMatchObject({ stopReason: 'finished', voted: false });
  });

  test('the window changes both the stop and the lowest-group confidence', () => {
    // Window 8: warmups stay 5 and 3; final #3's first full window [6,6,6,6,1,1,1,1] = 3.5 < 4 stops at index 7.
    const replay = replayRun(recording([promptA]), { window: 8, keepPercent: 50, warmup: 2 });
    if (!replay.computable) throw new Error('not computable');
    expect(replay.traces[3]).toMatchObject({ stoppedAt: 7, tokens: 8 });
    // A trace shorter than the window never stops online, and its lowest group is its mean.
    const short = replayRun(recording([promptA]), { window: 16, keepPercent: 50, warmup: 2 });
    if (!short.computable) throw new Error('not computable');
    expect(short.traces.every((t) => t.stopReason === 'finished')).toBe(true);
    expect(short.traces[3]?.lowestGroup).toBeCloseTo((24 + 8) / 12, 12);
    expect(short.traces[3]?.voted).toBe(false); // 2.67 < threshold 4
  });

  test('more warmup traces move the calibration; warmup traces are never stopped', () => {
    // warmup 3: lows 5, 3, 6 -> keep 50 threshold 5; only trace #3 is a final and it stops at index 4 ([6,6,6,1] = 4.75).
    const replay = replayRun(recording([promptA]), { window: 4, keepPercent: 50, warmup: 3 });
    if (!replay.computable) throw new Error('not computable');
    expect(replay.instances[0]?.threshold).toBe(5);
    expect(replay.traces.map((t) => t.phase)).toEqual(['warmup', 'warmup', 'warmup', 'final']);
    expect(replay.traces[3]).toMatchObject({ stoppedAt: 4, tokens: 5 });
    expect(replay.instances[0]?.votes).toEqual({ refuse: 11, comply: 0 });
  });

  test('errors cost nothing, never vote and never calibrate; a prompt nobody votes for stays undecided', () => {
    const rec = recording([
      {
        id: 'E',
        shouldRefuse: false,
        traces: [
          { confs: [], refused: false, stopReason: 'error' },
          { confs: flat(2, 8), refused: false },
          { confs: flat(1, 8), refused: true },
          { confs: flat(3, 8), refused: false },
        ],
      },
    ]);
    // warmup 2: only trace #1 (low 2) calibrates -> threshold 2; #2 stops at index 3; #3 finishes and votes comply.
    const replay = replayRun(rec, { window: 4, keepPercent: 50, warmup: 2 });
    if (!replay.computable) throw new Error('not computable');
    expect(replay.instances[0]).toMatchObject({
      threshold: 2,
      errors: 1,
      earlyStopped: 1,
      tokens: 0 + 8 + 4 + 8,
      decision: 'comply',
      correct: true,
      votes: { refuse: 0, comply: 5 },
    });
    const none = replayRun(
      recording([{ id: 'N', shouldRefuse: true, traces: [{ confs: [], refused: true, stopReason: 'error' }] }], {
        traces: 1,
        warmup: 1,
      }),
      { window: 4, keepPercent: 50, warmup: 1 },
    );
    if (!none.computable) throw new Error('not computable');
    expect(none.instances[0]).toMatchObject({ decision: null, correct: null, threshold: null, voters: 0 });
  });

  test('global calibration: one threshold from the calibration prompts, the others have no warmup', () => {
    const rec = recording(
      [
        {
          id: 'C',
          shouldRefuse: true,
          traces: [
            { confs: flat(5, 8), refused: true },
            { confs: flat(3, 8), refused: true },
            { confs: flat(6, 8), refused: true },
          ],
        },
        {
          id: 'D',
          shouldRefuse: false,
          traces: [
            { confs: [5, 5, 5, 5, 1, 1], refused: false },
            { confs: flat(4.5, 8), refused: false },
            { confs: flat(2, 8), refused: true },
          ],
        },
      ],
      { calibration: 'global', traces: 3 },
    );
    (rec.instances[1] as { calibration: boolean }).calibration = false;
    const replay = replayRun(rec, { window: 4, keepPercent: 50, warmup: 2 });
    if (!replay.computable) throw new Error('not computable');
    expect(replay.instances.map((i) => i.threshold)).toEqual([4, 4]);
    expect(replay.traces.filter((t) => t.instanceId === 'D').map((t) => [t.phase, t.stopReason, t.tokens])).toEqual([
      ['final', 'early_stopped', 6], // [5,5,5,1] = 4 is not below 4; [5,5,1,1] = 3 at index 5 is
      ['final', 'finished', 8],
      ['final', 'early_stopped', 4],
    ]);
    expect(replay.instances[1]).toMatchObject({ decision: 'comply', votes: { refuse: 0, comply: 4.5 } });
  });
});

describe('replaying a run that stopped traces itself', () => {
  // Recorded with keep 50 (threshold 4): final #3 was cut at token index 5.
  const stopped = () =>
    recording(
      [
        {
          ...promptA,
          traces: [
            ...promptA.traces.slice(0, 3),
            { confs: [6, 6, 6, 6, 1, 1], refused: false, stopReason: 'early_stopped' as const },
          ],
        },
      ],
      { earlyStop: true },
    );

  test('its own setting and more aggressive ones are exact', () => {
    const own = replayRun(stopped(), { window: 4, keepPercent: 50, warmup: 2 });
    expect(own).toMatchObject({ computable: true });
    if (!own.computable) return;
    expect(own.traces[3]).toMatchObject({ stopReason: 'early_stopped', stoppedAt: 5, tokens: 6 });
    // The baseline of a run that stopped traces is the runner's estimate, flagged as such: the two warmups (12 and
    // 12 tokens) ran in full; each final trace (10 finished, 6 stopped) counts as their mean, not as the mean of
    // the completed traces (those passed the confidence filter).
    expect(own.instances[0]).toMatchObject({ baselineEstimated: true });
    expect(own.instances[0]?.baselineTokens).toBeCloseTo(12 + 12 + 2 * ((12 + 12) / 2), 9);
    const harder = replayRun(stopped(), { window: 2, keepPercent: 10, warmup: 2 });
    expect(harder.computable).toBe(true);
  });

  test('a lower threshold would need tokens never generated: not computable, and says which trace', () => {
    const lenient = replayRun(stopped(), { window: 4, keepPercent: 90, warmup: 2 });
    expect(lenient).toEqual({
      computable: false,
      setting: { window: 4, keepPercent: 90, warmup: 2, earlyStop: true, fallbackLabels: 'exact' },
      blocked: [{ instanceId: 'A', traceIndex: 3, reason: 'stop-beyond-recording' }],
    });
    const noStop = replayRun(stopped(), { window: 4, keepPercent: 50, warmup: 2, earlyStop: false });
    expect(noStop.computable).toBe(false);
    const warm = replayRun(stopped(), { window: 4, keepPercent: 50, warmup: 4 });
    expect(warm).toMatchObject({ computable: false, blocked: [{ traceIndex: 3, reason: 'warmup-truncated' }] });
  });

  test('a sweep keeps such settings as rows marked not computable', () => {
    const sweep = sweepRecording(stopped(), { windows: [4], keepPercents: [10, 50, 90], warmups: [2] });
    expect(sweep.rows.map((r) => [r.keepPercent, r.computable, r.recorded])).toEqual([
      [10, true, false],
      [50, true, true],
      [90, false, false],
    ]);
    expect(sweep.rows[2]).toMatchObject({ blockedTraces: 1, tokens: null, pareto: false });
  });
});

describe('settings are checked like an online run', () => {
  test('bad grids name the flag', () => {
    const rec = recording([promptA]);
    expect(() => replayRun(rec, { window: 4, keepPercent: 50, warmup: 5 })).toThrow(
      /--warmup: cannot exceed --traces \(5 > 4\)/,
    );
    expect(() => replayRun(rec, { window: 0, keepPercent: 50, warmup: 2 })).toThrow(RunnerConfigError);
    expect(() => replayRun(rec, { window: 4, keepPercent: 0, warmup: 2 })).toThrow(/--keep-percent/);
    expect(() => replayRun(rec, { window: 4, keepPercent: 50, warmup: 0 })).toThrow(/--warmup: must be at least 1/);
    expect(() => sweepRecording(rec, { windows: [], keepPercents: [50], warmups: [2] })).toThrow(
      /--window: needs at least one value/,
    );
  });

  test('a run directory with a malformed DeepConf setting is refused with the file and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-bad-'));
    const { store } = RunStore.create(
      dir,
      {
        runId: 'x',
        startedAt: '',
        config: runConfig({ traces: 4, warmup: 2 }),
        versions: {},
        gitCommit: null,
        server: { emulated: false, baseUrls: [] },
        emulated: false,
      },
      { resume: false },
    );
    store.close();
    const file = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { config: Record<string, unknown> };
    writeFileSync(file, JSON.stringify({ ...manifest, config: { ...manifest.config, window: 0 } }));
    let error: unknown;
    try {
      loadRecording(RunStore.open(dir));
    } catch (e) {
      error = e;
    }
    expect(isRunStoreError(error)).toBe(true);
    expect((error as Error).message).toContain(join(dir, 'manifest.json'));
    expect((error as Error).message).toMatch(/field config\.window: an integer >= 1/);
  });
});

describe('token use is monotone in the threshold', () => {
  test('for random traces, a smaller keep percent never uses more tokens (per window and warmup)', () => {
    const conf = fc.double({ min: 0.5, max: 8, noNaN: true });
    const trace = fc.record({ confs: fc.array(conf, { minLength: 1, maxLength: 40 }), refused: fc.boolean() });
    const prompt = fc.array(trace, { minLength: 4, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(prompt, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        (prompts, window, warmup) => {
          const rec = recording(
            prompts.map((traces, i) => ({ id: `p${i}`, shouldRefuse: i % 2 === 0, traces })),
            { traces: Math.min(...prompts.map((p) => p.length)) },
          );
          const keeps = [5, 10, 25, 50, 75, 90, 100];
          const sweep = sweepRecording(rec, { windows: [window], keepPercents: keeps, warmups: [warmup] });
          const tokens = sweep.rows.map((r) => r.tokens as number);
          for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThanOrEqual(tokens[i - 1] as number);
          expect(tokens[tokens.length - 1]).toBeLessThanOrEqual(sweep.rows[0]?.baselineTokens as number);
        },
      ),
      { numRuns: 100, seed: 42 },
    );
  });
});

describe('offline voting variants', () => {
  // Two low-confidence refusals against one confident compliance: the plain majority refuses, weighted votes comply.
  const rec = () =>
    recording(
      [
        {
          id: 'X',
          shouldRefuse: false,
          traces: [
            { confs: flat(1, 6), refused: true },
            { confs: flat(1.5, 6), refused: true },
            { confs: flat(5, 6), refused: false },
            { confs: [], refused: true, stopReason: 'error' },
          ],
        },
        {
          id: 'Y',
          shouldRefuse: true,
          traces: [
            { confs: flat(2, 6), refused: true },
            { confs: flat(2, 6), refused: true },
            { confs: flat(2, 6), refused: false },
            { confs: [2, 2, 2, 9], refused: false, stopReason: 'early_stopped' },
          ],
        },
      ],
      { traces: 4 },
    );

  test('majority, weighted and top-eta votes differ where they should', () => {
    const rows = offlineVotes(rec(), { windows: [2, 4], keepPercents: [10, 50] });
    const get = (name: string, window: number | null) => rows.find((r) => r.name === name && r.window === window);
    expect(get('majority', null)).toMatchObject({ decided: 2, correct: 1, accuracy: 0.5, undecided: 0 });
    expect(get('weighted:mean', null)).toMatchObject({ correct: 2, accuracy: 1 });
    for (const w of [2, 4]) {
      for (const m of ['tail', 'bottom10', 'lowestGroup']) {
        expect(get(`weighted:${m}`, w)).toMatchObject({ accuracy: 1 });
        // top 10 % keeps only the most confident trace of X (comply) and all tied traces of Y (refuse 2:1).
        expect(get(`top10:${m}`, w)).toMatchObject({ accuracy: 1, decided: 2 });
      }
    }
    expect(rows.filter((r) => r.name === 'majority')).toHaveLength(1);
    expect(rows).toHaveLength(1 + 1 + 3 * 2 + 2 * 3 * 2);
  });
});

describe('paretoFront', () => {
  test('keeps the settings no other one beats on both tokens and accuracy', () => {
    const pts = [
      { tokens: 100, accuracy: 0.9 },
      { tokens: 50, accuracy: 0.8 },
      { tokens: 60, accuracy: 0.8 }, // dominated by #1
      { tokens: 120, accuracy: 0.9 }, // dominated by #0
      { tokens: 10, accuracy: null },
      { tokens: 200, accuracy: 0.95 },
      { tokens: 50, accuracy: 0.8 }, // tie with #1: neither beats the other
    ];
    expect([...paretoFront(pts)].sort((a, b) => a - b)).toEqual([0, 1, 5, 6]);
  });
});
