import { spawnSync } from 'node:child_process';
import { describe, expect, test } from '@jest/globals';
import { runBench, type BenchConfig } from '../bench.js';
import { REPO_ROOT, tsxNodeArgs } from '../paths.js';
import { formatTable } from '../report.js';

// Tiny sizes: this checks that every stage runs end to end and fills the result shape, never how fast anything is.
const TINY: BenchConfig = {
  mode: 'custom',
  throughput: { tokens: 400, rounds: 1, concurrency: 4, sdkRounds: 1, window: 16 },
  abort: { trials: 3, minStop: 1, maxStop: 4, tokensPerSecond: 1000 },
  endToEnd: {
    prompts: 8,
    tracesPerPrompt: 4,
    warmup: 2,
    window: 16,
    maxNumSeqs: 4,
    tokensPerSecond: 1000,
    concurrency: 4,
    sampleEveryMs: 40,
  },
  memory: { traces: 16, shortTraces: 8, tracesPerPrompt: 4, concurrency: 8 },
  threads: { clientThreads: 2 },
};

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

describe('npm run bench (smoke, tiny sizes)', () => {
  test('every stage runs against emulator child processes and fills results.json', async () => {
    const lines: string[] = [];
    const r = await runBench(TINY, (l) => lines.push(l));
    expect(lines.map((l) => l.split(':')[0])).toEqual([
      'throughput',
      'memory',
      'abort',
      'end to end + saturation',
      'threads',
    ]);
    expect(Object.keys(r.stageSeconds).sort()).toEqual(['abort', 'endToEnd', 'memory', 'threads', 'throughput']);

    expect(finite(r.throughput.tokensPerSecond) && r.throughput.tokensPerSecond > 0).toBe(true);
    expect(finite(r.throughput.jsonParseTokensPerSecond) && r.throughput.jsonParseTokensPerSecond > 0).toBe(true);
    // One round: the ratio is that round's client rate over its JSON.parse rate.
    expect(r.throughput.ratio).toBeCloseTo(r.throughput.tokensPerSecond / r.throughput.jsonParseTokensPerSecond, 10);
    expect(r.throughput.details.tokens).toBeGreaterThanOrEqual(TINY.throughput.tokens);
    expect(r.throughput.details.bytesPerToken).toBeGreaterThan(500); // 21 alternatives per token
    expect(r.throughput.details.sdk?.rounds).toBe(1);

    expect(r.abort.details.trials + r.abort.details.endedBeforeStop).toBe(TINY.abort.trials);
    expect(r.abort.medianTokensAfterStop).toBeGreaterThanOrEqual(0);
    expect(r.abort.p99TokensAfterStop).toBeGreaterThanOrEqual(r.abort.medianTokensAfterStop);

    expect(r.saturation.utilization).toBeGreaterThan(0);
    expect(r.saturation.utilization).toBeLessThanOrEqual(1 + 1e-9);
    expect(r.saturation.details.maxNumSeqs).toBe(4);
    expect(r.saturation.details.clientUtilization).toBeGreaterThan(0);
    // The emulator child exposes its exact counters, so the bench must use them rather than the sampled gauge.
    expect(r.saturation.details.method).toBe('busy-counter');
    expect(r.saturation.details.sampledUtilization).toBeGreaterThan(0);
    expect(r.abort.details.serverTokensAfterDisconnect).toBe(0);
    expect(r.endToEnd.details.serverTokensAfterDisconnect).toBe(0);

    expect(r.memory.traces).toBe(TINY.memory.traces);
    expect(r.memory.details.short.traces).toBe(TINY.memory.shortTraces);
    expect(r.memory.peakRssMiB).toBeGreaterThan(10);
    expect(r.memory.details.rssRatio).toBeCloseTo(r.memory.peakRssMiB / r.memory.details.short.peakRssMiB, 10);

    expect(r.endToEnd.details.traces).toBe(32);
    expect(r.endToEnd.tokens).toBeGreaterThan(0);
    expect(r.endToEnd.wallSeconds).toBeGreaterThan(0);
    // Aborted traces run on at the server for a moment at most, never fewer tokens than the client counted.
    expect(r.endToEnd.details.serverTokens).toBeGreaterThanOrEqual(r.endToEnd.tokens);
    expect(r.endToEnd.details.baselineTokens).toBeGreaterThanOrEqual(r.endToEnd.tokens);

    // The threaded run decides exactly as the single-threaded one; both report the main thread's busy share.
    expect(r.threads.sameResults).toBe(true);
    expect(r.threads.clientThreads).toBe(2);
    expect(r.threads.threadUtilization).toHaveLength(2);
    for (const u of [
      r.threads.mainThreadUtilization,
      r.threads.singleThread.mainThreadUtilization,
      ...r.threads.threadUtilization,
    ])
      expect(u > 0 && u <= 1).toBe(true);

    expect(Object.keys(r.goals).sort()).toEqual([
      'abortMedian',
      'memoryFlat',
      'saturation',
      'throughputRate',
      'throughputRatio',
    ]);
    expect(r.goals.abortMedian.met).toBe(r.abort.medianTokensAfterStop <= 1);
    const table = formatTable(r);
    for (const stage of ['stream throughput', 'abort latency', 'saturation', 'memory', 'end to end', 'client threads'])
      expect(table).toContain(stage);
    // results.json is JSON: nothing in it that would not survive a round trip.
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  }, 180_000);

  test('an unknown flag is refused with exit code 2 and a pointer to --help', () => {
    const res = spawnSync(process.execPath, [...tsxNodeArgs(), 'bench/run.ts', '--fast'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("'--fast'");
    expect(res.stderr).toContain('--help');
  }, 60_000);
});
