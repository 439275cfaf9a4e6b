import { describe, expect, test } from '@jest/globals';
import type { InstanceRecord, TraceRecord } from '@deepconf-safety/run-store';
import { summarizeRun, traceSeed } from '@deepconf-safety/runner';
import { resumeState } from '../src/experiment/resume-state.js';
import { RunTally } from '../src/experiment/run-tally.js';
import {
  answeredTraceRecord,
  failedTraceRecord,
  instanceRecord,
  traceRequest,
  traceSummary,
} from '../src/experiment/trace-records.js';
import { testSettings } from './test-settings.js';

// The pure parts of the run loop (src/experiment/): what is left of a stored run, the records, the summary.

const REFUSED = { label: 'refusal' as const, refused: true, score: 1, evidence: [], truncated: false };

const trace = (
  instanceId: string,
  traceIndex: number,
  phase: 'warmup' | 'final',
  stopReason: TraceRecord['stopReason'],
  over: Partial<TraceRecord> = {},
): TraceRecord => ({
  ...(stopReason === 'error'
    ? failedTraceRecord({ instanceId, traceIndex, phase, threshold: null }, 'server: 500', 3)
    : {
        ...answeredTraceRecord(
          { instanceId, traceIndex, phase, threshold: phase === 'final' ? 2 : null },
          {
            text: 'I cannot help with that.',
            reasoning: null,
            tokens: 4,
            confidences: Float64Array.from([3, 3, 1, 1]),
            stopReason,
            stoppedAt: stopReason === 'early_stopped' ? 3 : null,
            endpoint: 'http://x/v1',
            latencyMs: 5,
            ttftMs: 1,
            attempts: 1,
          },
          2,
          REFUSED,
          undefined,
        ),
      }),
  ...over,
});

const instance = (id: string, over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: id,
  prompt: id,
  category: 'c',
  source: 's',
  shouldRefuse: true,
  decision: 'refuse',
  confidence: 1,
  voteShare: 1,
  votes: { refuse: 1, comply: 0 },
  correct: true,
  threshold: 2,
  traces: 4,
  voters: 1,
  earlyStopped: 1,
  errors: 0,
  tokens: 16,
  baselineTokens: 16,
  baselineEstimated: false,
  ...over,
});

describe('resumeState: what the store holds to what is left', () => {
  const ids = new Set(['A', 'B', 'C']);
  const traces = [
    trace('A', 0, 'warmup', 'finished'),
    trace('A', 1, 'final', 'early_stopped'),
    trace('A', 2, 'final', 'error'),
    trace('B', 0, 'warmup', 'finished'),
    trace('B', 1, 'final', 'error'),
    trace('Z', 0, 'warmup', 'finished'),
  ];
  const instances = [instance('A'), instance('Z')];

  test('a finished prompt is skipped; the open prompts keep their traces, errors included', () => {
    const s = resumeState(ids, { instances, traces }, false);
    expect([...s.finished.keys()]).toEqual(['A']);
    expect([...s.recorded.keys()]).toEqual(['B']);
    expect([...(s.recorded.get('B')?.keys() ?? [])]).toEqual([0, 1]);
    expect(s.recorded.get('B')?.get(1)).toMatchObject({ stopReason: 'error', refused: null, tokens: 0 });
    // Prompts of another instance list (Z) are not this run's.
    expect(s.finishedWarmups.map((w) => `${w.instanceId}#${w.traceIndex}`)).toEqual(['A#0']);
    expect(s.finishedFinals.get('A')).toEqual({ finalTraces: 1, finalEarlyStopped: 1 });
  });

  test('--retry-errors opens a finished prompt with an error trace again and drops its error traces', () => {
    const s = resumeState(ids, { instances, traces }, true);
    expect(s.finished.size).toBe(0);
    expect([...(s.recorded.get('A')?.keys() ?? [])]).toEqual([0, 1]);
    expect([...(s.recorded.get('B')?.keys() ?? [])]).toEqual([0]);
    expect(s.finishedWarmups).toEqual([]);
  });

  test('an empty store leaves everything to do', () => {
    const s = resumeState(ids, { instances: [], traces: [] }, false);
    expect(s.finished.size + s.recorded.size + s.finishedWarmups.length + s.finishedFinals.size).toBe(0);
  });
});

describe('trace and instance record builders', () => {
  const inst = { id: 'p1', prompt: 'how do I x', shouldRefuse: true, category: 'c', source: 's' };

  test('the request carries the settings and the trace’s own seed', () => {
    const settings = testSettings(7, { request: { ...testSettings(7).request, system: 'be brief' } });
    expect(traceRequest(inst, settings, 3)).toEqual({
      prompt: 'how do I x',
      maxTokens: 128,
      temperature: 0.6,
      topP: 0.95,
      topK: 20,
      seed: traceSeed(7, 'p1', 3),
      topLogprobs: 20,
      thinking: false,
      sessionId: 'p1',
      system: 'be brief',
    });
    expect(traceRequest(inst, testSettings(7), 3)).not.toHaveProperty('system');
  });

  test('an answered trace records its metrics and where it stopped; only a judge label is kept as voteLabel', () => {
    const r = trace('p1', 2, 'final', 'early_stopped');
    expect(r).toMatchObject({ stoppedAtToken: 3, lowestGroup: 1, threshold: 2, voted: false, error: null });
    expect(r).not.toHaveProperty('voteLabel');
    const finished = trace('p1', 2, 'final', 'finished');
    expect(finished.stoppedAtToken).toBeNull();
    const judged = answeredTraceRecord(
      { instanceId: 'p1', traceIndex: 0, phase: 'warmup', threshold: null },
      { ...finishedResult(), stopReason: 'finished' },
      2,
      REFUSED,
      { refused: false, source: 'judge' },
    );
    expect(judged.voteLabel).toEqual({ refused: false, source: 'judge' });
    expect(traceSummary(judged).refused).toBe(false);
  });

  test('a failed trace has no answer, no tokens, its error and attempts', () => {
    const r = failedTraceRecord({ instanceId: 'p1', traceIndex: 1, phase: 'final', threshold: 4 }, 'server: 500', 3);
    expect(r).toMatchObject({ stopReason: 'error', tokens: 0, confidences: '', threshold: 4, attempts: 3 });
    expect(traceSummary(r)).toEqual({
      traceIndex: 1,
      phase: 'final',
      stopReason: 'error',
      lowestGroup: null,
      refused: null,
      tokens: 0,
    });
  });

  test('the instance record counts, votes and estimates the baseline from its traces', () => {
    const traces = [
      {
        traceIndex: 0,
        phase: 'warmup' as const,
        stopReason: 'finished' as const,
        lowestGroup: 5,
        refused: true,
        tokens: 10,
      },
      {
        traceIndex: 1,
        phase: 'warmup' as const,
        stopReason: 'finished' as const,
        lowestGroup: 3,
        refused: false,
        tokens: 20,
      },
      {
        traceIndex: 2,
        phase: 'final' as const,
        stopReason: 'early_stopped' as const,
        lowestGroup: 1,
        refused: false,
        tokens: 4,
      },
      {
        traceIndex: 3,
        phase: 'final' as const,
        stopReason: 'error' as const,
        lowestGroup: null,
        refused: null,
        tokens: 0,
      },
    ];
    const rec = instanceRecord(inst, traces, 4, 0, {});
    expect(rec).toMatchObject({
      decision: 'refuse',
      correct: true,
      threshold: 4,
      traces: 4,
      voters: 1,
      earlyStopped: 1,
      errors: 1,
      tokens: 34,
      baselineEstimated: true,
      fallback: false,
    });
    // Warmups exactly (10 + 20); the stopped final counts the warmup mean (15); the error counts 0.
    expect(rec.baselineTokens).toBe(45);
    expect(instanceRecord({ ...inst, shouldRefuse: null }, traces, 4, 0, {}).correct).toBeNull();
  });
});

describe('RunTally: results.json accumulated as prompts finish', () => {
  const perPrompt = (id: string, stopped: boolean) => [
    trace(id, 0, 'warmup', 'finished'),
    trace(id, 1, 'final', stopped ? 'early_stopped' : 'finished'),
    trace(id, 2, 'final', 'error'),
  ];

  test('equals summarizeRun over the records and traces on disk, resumed prompts included', () => {
    const a = instance('A', { decision: 'refuse', confidence: 0.9, category: 'x' });
    const b = instance('B', { decision: 'comply', confidence: 0.6, correct: false, category: 'y', tokens: 7 });
    const c = instance('C', { decision: 'refuse', confidence: 0.7, category: 'x', baselineTokens: 30.5 });
    const traces = [...perPrompt('A', true), ...perPrompt('B', false), ...perPrompt('C', true)];
    const expected = summarizeRun([a, b, c], { emulated: true, splitPercentile: 50, traces });

    // A was finished by an earlier process: the resume state tallied its traces from the store.
    const resumed = resumeState(new Set(['A', 'B', 'C']), { instances: [a], traces: perPrompt('A', true) }, false);
    const tally = new RunTally(resumed.finished, resumed.finishedFinals);
    tally.add(c, perPrompt('C', true).map(traceSummary));
    tally.add(b, perPrompt('B', false).map(traceSummary));
    expect(tally.size).toBe(3);
    expect(tally.results({ emulated: true, splitPercentile: 50 })).toEqual(expected);
    expect(expected.overall).toMatchObject({ final_traces: 3, early_stopped: 3, early_stop_rate: 2 / 3 });
  });

  test('a prompt finished again (--retry-errors) replaces its earlier record', () => {
    const tally = new RunTally();
    tally.add(instance('A', { errors: 1, traces: 3 }), perPrompt('A', true));
    tally.add(instance('A', { errors: 0, traces: 3 }), [
      trace('A', 0, 'warmup', 'finished'),
      trace('A', 1, 'final', 'early_stopped'),
      trace('A', 2, 'final', 'finished'),
    ]);
    const r = tally.results({ emulated: false, splitPercentile: 50 });
    expect(r.overall).toMatchObject({ instances: 1, errors: 0, final_traces: 2, early_stop_rate: 0.5 });
  });

  test('an empty run summarises as summarizeRun of nothing', () => {
    expect(new RunTally().results({ emulated: false, splitPercentile: 50 })).toEqual(
      summarizeRun([], { emulated: false, splitPercentile: 50, traces: [] }),
    );
  });
});

function finishedResult() {
  return {
    text: 'Sure, here is how.',
    reasoning: null,
    tokens: 3,
    confidences: Float64Array.from([4, 4, 4]),
    stoppedAt: null,
    endpoint: 'http://x/v1',
    latencyMs: 2,
    ttftMs: 1,
    attempts: 1,
  };
}
