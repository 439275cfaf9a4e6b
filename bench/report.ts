import type { ReportReadResult } from './report-read.js';
import { cpus, loadavg } from 'node:os';
import type { AbortResult } from './abort.js';
import type { MemoryResult } from './memory.js';
import type { SaturationResult } from './saturation.js';
import type { ThroughputResult } from './throughput.js';

export type EndToEndResult = {
  wallSeconds: number;
  /** Tokens the client used (early-stopped traces count up to their stop token). */
  tokens: number;
  savingsPercent: number | null;
  details: {
    prompts: number;
    tracesPerPrompt: number;
    traces: number;
    maxNumSeqs: number;
    tokensPerSecondPerSequence: number;
    /** Tokens the server generated (vLLM generation_tokens_total); more than `tokens` by what aborted traces ran on. */
    serverTokens: number | null;
    baselineTokens: number;
    earlyStopRate: number | null;
    accuracy: number | null;
    wallTokensPerSecond: number;
    clientCpuSeconds: number;
    /** Client tokens per client CPU-second during the experiment (the runner included). */
    clientTokensPerCpuSecond: number;
    concurrency: number;
    retries: number;
    sampleErrors: number;
    earlyStopped: number;
    /** (server tokens - client tokens) / early-stopped traces: what a stopped trace ran on at the server under load. */
    tokensAfterStopPerStoppedTrace: number | null;
    /** Of those, tokens the emulator made after it had seen the disconnect (should be 0); null on a real vLLM. */
    serverTokensAfterDisconnect: number | null;
    /** The client's event-loop delay during the run (ms). */
    clientEventLoopDelayMs: { p50: number; p99: number; max: number };
    /** Share of the run the main thread's event loop was busy. */
    mainThreadUtilization: number;
  };
};

/** The end-to-end run with trace threads, beside the single-threaded one (see threadsStage). */
export type ThreadsResult = {
  clientThreads: number;
  wallSeconds: number;
  /** The whole process, threads included. */
  clientCpuSeconds: number;
  /** Share of the run the main thread's event loop was busy: what is left of the client's load there. */
  mainThreadUtilization: number;
  /** The same for each trace thread. */
  threadUtilization: number[];
  clientEventLoopDelayMs: { p50: number; p99: number; max: number };
  singleThread: { wallSeconds: number; clientCpuSeconds: number; mainThreadUtilization: number };
  /** results.json of the threaded run equals the single-threaded run's. */
  sameResults: boolean;
};

export type Goal = { goal: string; met: boolean };

/** Issue 15: a 10,000-prompt x 8-trace run store is reported in under 30 s and under 500 MB RSS. */
export const REPORT_GOAL = { seconds: 30, rssMiB: 500 };

export function reportGoal(r: ReportReadResult): Goal {
  return {
    goal: `report of ${r.prompts.toLocaleString('en-US')} x ${r.traces / r.prompts} traces < ${REPORT_GOAL.seconds} s and < ${REPORT_GOAL.rssMiB} MB RSS`,
    met: r.report.wallSeconds < REPORT_GOAL.seconds && r.report.peakRssMiB * 1.048576 < REPORT_GOAL.rssMiB,
  };
}

/** The report stage's row. */
export function formatReportRow(r: ReportReadResult): string {
  const g = reportGoal(r);
  return (
    `${'report (read once)'.padEnd(18)} ${`${r.report.wallSeconds.toFixed(1)} s, peak RSS ${r.report.peakRssMiB.toFixed(0)} MiB`.padEnd(40)} ${g.met ? 'ok  ' : 'MISS'}  ` +
    `${r.prompts.toLocaleString('en-US')} prompts x ${r.traces / r.prompts} traces (${r.traces.toLocaleString('en-US')}), store ${r.storeMiB.toFixed(0)} MiB, ` +
    `${r.tokens.min}-${r.tokens.max} tokens per trace; ${r.report.cpuSeconds.toFixed(1)} CPU-s at load ${r.loadAverage.join(' ')}; ` +
    `the read alone ${r.read.wallSeconds.toFixed(1)} s (${r.read.cpuSeconds.toFixed(1)} CPU-s), ${r.read.peakRssMiB.toFixed(0)} MiB`
  );
}

export type BenchResults = {
  schemaVersion: 1;
  mode: 'full' | 'quick' | 'custom';
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: { node: string; cpus: number; cpuModel: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  /** Wall seconds per stage. */
  stageSeconds: Record<string, number>;
  throughput: ThroughputResult;
  abort: AbortResult;
  saturation: SaturationResult;
  memory: MemoryResult;
  endToEnd: EndToEndResult;
  threads: ThreadsResult;
  goals: Record<'throughputRatio' | 'throughputRate' | 'abortMedian' | 'saturation' | 'memoryFlat', Goal>;
  reportRead?: ReportReadResult;
};

export function machineInfo(): Pick<BenchResults['machine'], 'node' | 'cpus' | 'cpuModel'> {
  const c = cpus();
  return { node: process.version, cpus: c.length, cpuModel: c[0]?.model ?? 'unknown' };
}

export const loadAverage = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

/** Flat = a run 5x longer peaks at most 25 % higher (allocator and JIT warm-up are not a leak). */
export const MEMORY_FLAT_RATIO = 1.25;

export function goals(r: Pick<BenchResults, 'throughput' | 'abort' | 'saturation' | 'memory'>): BenchResults['goals'] {
  return {
    throughputRatio: { goal: 'full path >= 0.7 x raw JSON.parse', met: r.throughput.ratio >= 0.7 },
    throughputRate: { goal: '>= 60,000 tokens/s per client core', met: r.throughput.tokensPerSecond >= 60_000 },
    abortMedian: { goal: '<= 1 token after the stop decision (median)', met: r.abort.medianTokensAfterStop <= 1 },
    saturation: { goal: 'utilization >= 0.95', met: r.saturation.utilization >= 0.95 },
    memoryFlat: {
      goal: `peak RSS flat in run length (long/short <= ${MEMORY_FLAT_RATIO})`,
      met: r.memory.details.rssRatio <= MEMORY_FLAT_RATIO,
    },
  };
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fixed = (x: number | null, d: number) => (x === null ? 'n/a' : x.toFixed(d));

/** The short table printed to stdout (and quoted in the README). */
export function formatTable(r: BenchResults): string {
  const t = r.throughput;
  const rows: [string, string, string, Goal][] = [
    [
      'stream throughput',
      `${int(t.tokensPerSecond)} tok/s per client core`,
      `JSON.parse ${int(t.jsonParseTokensPerSecond)} tok/s; ratio ${fixed(t.ratio, 2)}`,
      r.goals.throughputRatio,
    ],
    ['', '', `goal >= 60,000 tok/s`, r.goals.throughputRate],
    [
      'abort latency',
      `median ${r.abort.medianTokensAfterStop}, p99 ${r.abort.p99TokensAfterStop} tokens`,
      `${r.abort.details.trials} traces at ${r.abort.details.tokensPerSecond} tok/s/seq`,
      r.goals.abortMedian,
    ],
    [
      'saturation',
      `utilization ${fixed(r.saturation.utilization, 3)}`,
      `max-num-seqs ${r.saturation.details.maxNumSeqs}, ${fixed(r.saturation.details.steadySeconds, 1)} s steady, ${r.saturation.details.method === 'busy-counter' ? `exact busy counter (sampled gauge ${fixed(r.saturation.details.sampledUtilization, 3)})` : 'sampled gauge'}; decode capacity used ${fixed(r.saturation.details.tokenUtilization, 2)}`,
      r.goals.saturation,
    ],
    [
      'memory',
      `peak RSS ${fixed(r.memory.peakRssMiB, 0)} MiB at ${int(r.memory.traces)} traces`,
      `${int(r.memory.details.short.traces)} traces: ${fixed(r.memory.details.short.peakRssMiB, 0)} MiB (ratio ${fixed(r.memory.details.rssRatio, 2)})`,
      r.goals.memoryFlat,
    ],
  ];
  const e = r.endToEnd;
  const lines = rows.map(([a, b, c, g]) => `${a.padEnd(18)} ${b.padEnd(40)} ${g.met ? 'ok  ' : 'MISS'}  ${c}`);
  lines.push(
    `${'end to end'.padEnd(18)} ${`${fixed(e.wallSeconds, 1)} s, ${int(e.tokens)} tokens`.padEnd(40)}        ${e.details.prompts} prompts x ${e.details.tracesPerPrompt} traces, savings ${fixed(e.savingsPercent, 1)}%, ${int(e.details.wallTokensPerSecond)} tok/s wall`,
    `${''.padEnd(18)} ${`client ${int(e.details.clientTokensPerCpuSecond)} tok/s per CPU-second`.padEnd(40)}        under load a stopped trace ran on ${fixed(e.details.tokensAfterStopPerStoppedTrace, 1)} tokens at the server (${e.details.serverTokensAfterDisconnect ?? 'n/a'} after it saw the disconnect); client event-loop delay p99 ${fixed(e.details.clientEventLoopDelayMs.p99, 0)} ms`,
  );
  const th = r.threads;
  lines.push(
    `${'client threads'.padEnd(18)} ${`main thread busy ${fixed(th.mainThreadUtilization, 2)} with ${th.clientThreads} threads`.padEnd(40)}        threads ${th.threadUtilization.map((u) => fixed(u, 2)).join(', ')}; one thread: main ${fixed(th.singleThread.mainThreadUtilization, 2)}; same results: ${th.sameResults ? 'yes' : 'NO'}; ${fixed(th.wallSeconds, 1)} s wall, ${fixed(th.clientCpuSeconds, 1)} CPU-s (one: ${fixed(th.singleThread.clientCpuSeconds, 1)})`,
  );
  if (r.reportRead !== undefined) lines.push(formatReportRow(r.reportRead));
  return [
    `npm run bench (${r.mode}): ${r.machine.cpus} CPUs, load ${r.machine.loadAverageAtStart.join(' ')}, ${fixed(r.durationSeconds, 0)} s`,
    ...lines,
  ].join('\n');
}
