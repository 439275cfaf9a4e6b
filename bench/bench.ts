// The whole benchmark: stages in order, each against its own emulator child process, into one results object.
import { measureAbort, type AbortOptions, type AbortResult } from './abort.js';
import { startEmulatorProcess, type EmulatorProcess, type EmulatorProcessOptions } from './emulator-process.js';
import { runBenchExperiment, type ExperimentOptions } from './experiment.js';
import { measureMemory, type MemoryOptions } from './memory.js';
import { measureReportRead, type ReportReadOptions } from './report-read.js';
import type { InstanceInput } from '@deepconf-safety/runner';
import { cycleInstances, xstestInstances } from './prompts.js';
import {
  goals,
  loadAverage,
  machineInfo,
  type BenchResults,
  type EndToEndResult,
  type ThreadsResult,
} from './report.js';
import { analyseSaturation, type SaturationResult } from './saturation.js';
import { measureThroughput, type ThroughputOptions } from './throughput.js';
import { isDeepStrictEqual } from 'node:util';
import type { Results } from '@deepconf-safety/run-store';

export type EndToEndOptions = {
  prompts: number;
  tracesPerPrompt: number;
  warmup: number;
  window: number;
  maxNumSeqs: number;
  /** Per-sequence decode speed: A100-like is ~80 tok/s with 256 sequences. */
  tokensPerSecond: number;
  /** Traces the runner keeps in flight; matching max-num-seqs is what keeps the batch full. */
  concurrency: number;
  sampleEveryMs: number;
};

export type BenchConfig = {
  mode: BenchResults['mode'];
  throughput: ThroughputOptions;
  abort: AbortOptions;
  endToEnd: EndToEndOptions;
  memory: MemoryOptions;
  /** The end-to-end run again with this many trace threads (--client-threads), beside the single-threaded one. */
  threads: { clientThreads: number };
  /** Report of a synthetic run store (issue 15 "read once"); `npm run bench -- --only report` runs it alone. */
  reportRead?: ReportReadOptions;
};

const REPORT_STORE = {
  tracesPerPrompt: 8,
  warmup: 4,
  window: 64,
  keepPercent: 90,
  minTokens: 64,
  maxTokens: 512,
  seed: 1,
};

export const SIZES: Record<'full' | 'quick', BenchConfig> = {
  full: {
    mode: 'full',
    throughput: { tokens: 50_000, rounds: 5, concurrency: 16, sdkRounds: 1, window: 64 },
    abort: { trials: 200, minStop: 1, maxStop: 16, tokensPerSecond: 80 },
    endToEnd: {
      prompts: 450,
      tracesPerPrompt: 8,
      warmup: 4,
      window: 64,
      maxNumSeqs: 256,
      tokensPerSecond: 80,
      concurrency: 320,
      sampleEveryMs: 100,
    },
    memory: { traces: 10_000, shortTraces: 2_000, tracesPerPrompt: 8, concurrency: 256 },
    threads: { clientThreads: 2 },
    reportRead: { prompts: 10_000, ...REPORT_STORE },
  },
  quick: {
    mode: 'quick',
    throughput: { tokens: 16_000, rounds: 5, concurrency: 16, sdkRounds: 1, window: 64 },
    abort: { trials: 30, minStop: 1, maxStop: 12, tokensPerSecond: 80 },
    endToEnd: {
      prompts: 48,
      tracesPerPrompt: 8,
      warmup: 4,
      window: 64,
      maxNumSeqs: 64,
      tokensPerSecond: 160,
      concurrency: 80,
      sampleEveryMs: 100,
    },
    memory: { traces: 800, shortTraces: 160, tracesPerPrompt: 8, concurrency: 64 },
    threads: { clientThreads: 2 },
    reportRead: { prompts: 500, ...REPORT_STORE },
  },
};

export async function withEmulator<T>(
  options: EmulatorProcessOptions,
  fn: (emu: EmulatorProcess) => Promise<T>,
): Promise<T> {
  const emu = await startEmulatorProcess(options);
  try {
    return await fn(emu);
  } finally {
    await emu.stop();
  }
}

export async function runBench(
  config: BenchConfig,
  log: (line: string) => void = () => undefined,
): Promise<BenchResults> {
  const started = new Date();
  const loadAtStart = loadAverage();
  const prompts = await xstestInstances();
  const stageSeconds: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      stageSeconds[name] = (performance.now() - t0) / 1000;
    }
  };

  log(`throughput: ${config.throughput.tokens} tokens x ${config.throughput.rounds} rounds, emulator unlimited`);
  const { throughput, memory } = await withEmulator({}, async (emu) => {
    const t = await timed('throughput', () => measureThroughput(emu, prompts, config.throughput));
    log(`memory: ${config.memory.shortTraces} and ${config.memory.traces} traces in a child process`);
    const m = await timed('memory', () => measureMemory(emu, config.memory));
    return { throughput: t, memory: m };
  });

  const e = config.endToEnd;
  // Abort runs one trace at a time, so the batch size does not matter to it: one emulator serves both stages when
  // the decode speeds agree (saves a process start).
  const shared = config.abort.tokensPerSecond === e.tokensPerSecond;
  const e2eEmulator = { tokensPerSecond: e.tokensPerSecond, maxNumSeqs: e.maxNumSeqs };
  const runAbort = (emu: EmulatorProcess) => {
    log(`abort: ${config.abort.trials} traces at ${config.abort.tokensPerSecond} tok/s per sequence`);
    return timed('abort', () => measureAbort(emu, prompts, config.abort));
  };
  const runEndToEnd = async (emu: EmulatorProcess) => {
    log(
      `end to end + saturation: ${e.prompts} prompts x ${e.tracesPerPrompt} traces, max-num-seqs ${e.maxNumSeqs} at ${e.tokensPerSecond} tok/s per sequence`,
    );
    const single = await timed('endToEnd', () => endToEndStage(emu, prompts, e));
    log(`threads: the same run with ${config.threads.clientThreads} trace threads`);
    const threads = await timed('threads', () => threadsStage(emu, prompts, e, config.threads.clientThreads, single));
    return { ...single, threads };
  };
  let abort: AbortResult;
  let stage: { endToEnd: EndToEndResult; saturation: SaturationResult; threads: ThreadsResult };
  if (shared) {
    ({ abort, stage } = await withEmulator(e2eEmulator, async (emu) => ({
      abort: await runAbort(emu),
      stage: await runEndToEnd(emu),
    })));
  } else {
    abort = await withEmulator({ tokensPerSecond: config.abort.tokensPerSecond }, runAbort);
    stage = await withEmulator(e2eEmulator, runEndToEnd);
  }
  const { endToEnd, saturation, threads } = stage;
  const reportRead =
    config.reportRead === undefined
      ? undefined
      : await timed('reportRead', () => measureReportRead(config.reportRead!, log));

  const finished = new Date();
  const partial = { throughput, abort, saturation, memory };
  return {
    schemaVersion: 1,
    mode: config.mode,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    machine: { ...machineInfo(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage() },
    stageSeconds,
    ...partial,
    endToEnd,
    threads,
    ...(reportRead === undefined ? {} : { reportRead }),
    goals: goals(partial),
  };
}

/** The XSTest end-to-end experiment of the bench, against `emu`. */
function experimentOptions(
  emu: EmulatorProcess,
  prompts: readonly InstanceInput[],
  e: EndToEndOptions,
): ExperimentOptions {
  return {
    baseURL: emu.baseURL,
    model: emu.model,
    instances: cycleInstances(prompts, e.prompts),
    traces: e.tracesPerPrompt,
    warmup: e.warmup,
    window: e.window,
    concurrency: e.concurrency,
    sampleEveryMs: e.sampleEveryMs,
  };
}

/**
 * The end-to-end run again with the traces streamed, parsed and scored in worker threads: where the main thread's
 * load goes, and proof that the threaded run decides exactly as the single-threaded one. On a machine whose cores
 * are all busy (client and emulator share two here) the wall time says little; the main thread's share does.
 */
export async function threadsStage(
  emu: EmulatorProcess,
  prompts: readonly InstanceInput[],
  e: EndToEndOptions,
  clientThreads: number,
  single: { endToEnd: EndToEndResult; results: Results },
): Promise<ThreadsResult> {
  const run = await runBenchExperiment({ ...experimentOptions(emu, prompts, e), sampleEveryMs: 0, clientThreads });
  const s = single.endToEnd;
  return {
    clientThreads,
    wallSeconds: run.wallSeconds,
    clientCpuSeconds: run.clientCpuSeconds,
    mainThreadUtilization: run.mainThreadUtilization,
    threadUtilization: run.threadUtilization ?? [],
    clientEventLoopDelayMs: run.eventLoopDelayMs,
    singleThread: {
      wallSeconds: s.wallSeconds,
      clientCpuSeconds: s.details.clientCpuSeconds,
      mainThreadUtilization: s.details.mainThreadUtilization,
    },
    sameResults: isDeepStrictEqual(run.results, single.results),
  };
}

export async function endToEndStage(
  emu: EmulatorProcess,
  prompts: readonly InstanceInput[],
  e: EndToEndOptions,
): Promise<{ endToEnd: EndToEndResult; saturation: SaturationResult; results: Results }> {
  const before = await emu.metrics();
  const run = await runBenchExperiment(experimentOptions(emu, prompts, e));
  const o = run.results.overall;
  const saturation = analyseSaturation(run.samples, run.inFlight, {
    maxNumSeqs: e.maxNumSeqs,
    // A retried attempt failed before the server parsed it (a stale keep-alive socket), so it is not a request there.
    plannedRequests: e.prompts * e.tracesPerPrompt,
    tokensPerSecond: e.tokensPerSecond,
    startFinished: before.finishedRequests,
  });
  const served = run.serverTokens ?? o.total_tokens;
  const stopped = (o['early_stopped'] as number | undefined) ?? 0;
  const endToEnd: EndToEndResult = {
    wallSeconds: run.wallSeconds,
    tokens: o.total_tokens,
    savingsPercent: o.token_savings_percent,
    details: {
      prompts: e.prompts,
      tracesPerPrompt: e.tracesPerPrompt,
      traces: (o['traces'] as number | undefined) ?? e.prompts * e.tracesPerPrompt,
      maxNumSeqs: e.maxNumSeqs,
      tokensPerSecondPerSequence: e.tokensPerSecond,
      serverTokens: run.serverTokens,
      baselineTokens: o.baseline_tokens,
      earlyStopRate: o.early_stop_rate,
      accuracy: o.accuracy,
      wallTokensPerSecond: served / run.wallSeconds,
      clientCpuSeconds: run.clientCpuSeconds,
      clientTokensPerCpuSecond: served / run.clientCpuSeconds,
      concurrency: e.concurrency,
      retries: run.retries,
      sampleErrors: run.sampleErrors,
      earlyStopped: stopped,
      tokensAfterStopPerStoppedTrace:
        run.serverTokens === null || stopped === 0 ? null : (run.serverTokens - o.total_tokens) / stopped,
      serverTokensAfterDisconnect: run.serverTokensAfterDisconnect,
      clientEventLoopDelayMs: run.eventLoopDelayMs,
      mainThreadUtilization: run.mainThreadUtilization,
    },
  };
  return { endToEnd, saturation, results: run.results };
}
