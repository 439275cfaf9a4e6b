import { describe, expect, test } from '@jest/globals';
import { parseMetrics } from '../metrics.js';
import { analyseSaturation, clientBusy } from '../saturation.js';
import { percentileRank } from '../stats.js';
import type { MetricsSample } from '../experiment.js';
import { isBenchError } from '../errors.js';

const METRICS = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 12.0
vllm:num_requests_waiting{engine="0",model_name="m"} 3.0
vllm:prompt_tokens_total{engine="0",model_name="m"} 100.0
vllm:generation_tokens_total{engine="0",model_name="m"} 4567.0
vllm:request_success_total{engine="0",model_name="m",finished_reason="stop"} 7.0
vllm:request_success_total{engine="0",model_name="m",finished_reason="length"} 2.0
vllm:request_success_total{engine="0",model_name="m",finished_reason="abort"} 5.0
`;

describe('parseMetrics', () => {
  test('reads the vLLM gauges and counters the bench uses', () => {
    expect(parseMetrics(METRICS)).toEqual({
      running: 12,
      waiting: 3,
      promptTokens: 100,
      generationTokens: 4567,
      finishedRequests: 14,
      abortedRequests: 5,
      emulator: null,
    });
  });
  test("reads the emulator's exact counters when present", () => {
    const extra = `deepconf_emulator_max_num_seqs{engine="0",model_name="m"} 16.0
deepconf_emulator_uptime_seconds{engine="0",model_name="m"} 12.5
deepconf_emulator_busy_sequence_seconds_total{engine="0",model_name="m"} 181.25
deepconf_emulator_tokens_after_disconnect_total{engine="0",model_name="m"} 0.0
`;
    expect(parseMetrics(METRICS + extra).emulator).toEqual({
      maxNumSeqs: 16,
      uptimeSeconds: 12.5,
      busySeqSeconds: 181.25,
      tokensAfterDisconnect: 0,
    });
    // Half a set means emulator and bench disagree on the names: an error, not a silent fallback.
    const half = extra
      .split('\n')
      .filter((l) => !l.includes('uptime'))
      .join('\n');
    expect(() => parseMetrics(METRICS + half)).toThrow(/deepconf_emulator_uptime_seconds/);
  });
  test('a missing metric is an error naming it', () => {
    const text = METRICS.split('\n')
      .filter((l) => !l.includes('generation_tokens'))
      .join('\n');
    expect(() => parseMetrics(text)).toThrow(/vllm:generation_tokens_total/);
  });
});

describe('percentileRank', () => {
  test('nearest rank: p99 of 1..100 is 99, of 1..10 is 10, median of [0,0,5] is 0', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileRank(hundred, 99, 'x')).toBe(99);
    expect(percentileRank(hundred.slice(0, 10), 99, 'x')).toBe(10);
    expect(percentileRank([5, 0, 0], 50, 'x')).toBe(0);
  });
  test('no samples is a bench error', () => {
    let caught: unknown;
    try {
      percentileRank([], 50, 'abort trials');
    } catch (e) {
      caught = e;
    }
    expect(isBenchError(caught)).toBe(true);
    expect(String(caught)).toContain('abort trials');
  });
});

const sample = (t: number, running: number, finishedRequests: number, generationTokens = 0): MetricsSample => ({
  t,
  running,
  waiting: 0,
  finishedRequests,
  generationTokens,
  promptTokens: 0,
  abortedRequests: 0,
  emulator: null,
});

describe('analyseSaturation', () => {
  test('integrates the running gauge over the steady part only (while >= maxNumSeqs traces remain)', () => {
    // 10 slots, 40 planned requests. Full for 3 s, then the tail (fewer than 10 left) at 2 running.
    const samples = [
      sample(0, 0, 0),
      sample(1, 10, 0, 0),
      sample(2, 10, 10, 800),
      sample(3, 8, 20, 1500),
      sample(4, 10, 30, 2400),
      sample(5, 2, 35, 3000),
      sample(6, 0, 40, 3100),
    ];
    const r = analyseSaturation(samples, [], {
      maxNumSeqs: 10,
      plannedRequests: 40,
      tokensPerSecond: 100,
      startFinished: 0,
    });
    expect(r.details.method).toBe('sampled-gauge');
    expect(r.details.steadyFrom).toBe(1);
    expect(r.details.steadyTo).toBe(4);
    // Trapezoids: (10+10)/2 + (10+8)/2 + (8+10)/2 = 28 sequence-seconds over 3 s x 10 slots.
    expect(r.utilization).toBeCloseTo(28 / 30, 12);
    expect(r.details.tokenUtilization).toBeCloseTo(2400 / (10 * 100 * 3), 12);
    expect(r.details.wholeRunUtilization).toBeLessThan(r.utilization);
  });
  test("with the emulator's counters, utilisation is the busy counter's difference over its own clock, not the sampled gauge", () => {
    // The gauge happens to read 10 at every sample, but the counter says 24 of 30 slot-seconds were busy
    // (emulator clock 100 -> 103 s while the client dated the reads 1 -> 4 s).
    const at = (t: number, finished: number, up: number, busy: number): MetricsSample => ({
      ...sample(t, 10, finished),
      emulator: { maxNumSeqs: 10, uptimeSeconds: up, busySeqSeconds: busy, tokensAfterDisconnect: 0 },
    });
    const samples = [
      sample(0, 0, 0),
      at(1, 0, 100, 500),
      at(2, 10, 101, 508),
      at(3, 20, 102, 516),
      at(4, 30, 103, 524),
      at(5, 35, 104, 526),
    ];
    const r = analyseSaturation(samples, [], {
      maxNumSeqs: 10,
      plannedRequests: 40,
      tokensPerSecond: null,
      startFinished: 0,
    });
    expect(r.details.method).toBe('busy-counter');
    expect(r.utilization).toBeCloseTo(24 / 30, 12);
    expect(r.details.sampledUtilization).toBeCloseTo(1, 12);
    expect(r.details.meanRunning).toBeCloseTo(8, 12);
    expect(r.details.wholeRunUtilization).toBeCloseTo(26 / 40, 12);
    // A server started with other settings than the bench believes is an error naming both.
    expect(() =>
      analyseSaturation(samples, [], { maxNumSeqs: 12, plannedRequests: 40, tokensPerSecond: null, startFinished: 0 }),
    ).toThrow(/max_num_seqs 10.*12/);
  });
  test('too short a run is an error that says to run more traces', () => {
    expect(() =>
      analyseSaturation([sample(0, 4, 0), sample(1, 4, 4)], [], {
        maxNumSeqs: 4,
        plannedRequests: 5,
        tokensPerSecond: null,
        startFinished: 0,
      }),
    ).toThrow(/run more traces/);
  });
});

describe('clientBusy', () => {
  test('integrates a step function of in-flight traces, capped, within the window', () => {
    const events = [
      { t: 0, inFlight: 1 },
      { t: 1, inFlight: 5 },
      { t: 2, inFlight: 3 },
      { t: 4, inFlight: 0 },
    ];
    // Window [0.5, 3]: 1 x 0.5 + min(5,4) x 1 + 3 x 1 = 7.5.
    expect(clientBusy(events, 0.5, 3, 4)).toBeCloseTo(7.5, 12);
    expect(clientBusy(events, 5, 6, 4)).toBe(0);
  });
});
