// Runs the real runner (runExperiment + VllmClient + RunStore) against an emulator process, sampling the server's
// /metrics meanwhile. Used by the saturation / end-to-end stage and by the memory child.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { join } from 'node:path';
import { RunStore, runConfig, type Results } from '@deepconf-safety/run-store';
import {
  ThreadedTraceSource,
  runExperiment,
  type InstanceInput,
  type RunSettings,
  type TraceSource,
} from '@deepconf-safety/runner';
import { VllmClient } from '@deepconf-safety/vllm-client';
import { BenchMeasurementError } from './errors.js';
import { parseMetrics, type EmulatorMetrics } from './metrics.js';
import { REQUEST_DEFAULTS } from './prompts.js';
import { cpuSeconds } from './stats.js';

export type MetricsSample = EmulatorMetrics & { /** Seconds since the run started. */ t: number };

/** Traces in flight at the client after a change, seconds since the run started. */
export type InFlightEvent = { t: number; inFlight: number };

export type ExperimentOptions = {
  baseURL: string;
  model: string;
  instances: readonly InstanceInput[];
  /** Traces per prompt (warmup included). */
  traces: number;
  warmup: number;
  window: number;
  maxTokens?: number;
  /** Traces in flight. */
  concurrency: number;
  /** Poll /metrics this often (ms); 0 = do not sample. */
  sampleEveryMs: number;
  /** Trace threads (ThreadedTraceSource); 1 or absent = the client in the main thread. */
  clientThreads?: number;
};

export type ExperimentRun = {
  results: Results;
  wallSeconds: number;
  clientCpuSeconds: number;
  samples: MetricsSample[];
  /** Server-side generation tokens during the run (from /metrics), or null when not sampled. */
  serverTokens: number | null;
  /** Tokens the emulator made after seeing a client disconnect, during the run; null when not sampled or a real vLLM. */
  serverTokensAfterDisconnect: number | null;
  /** Every change of the client's in-flight count (only when sampling). */
  inFlight: InFlightEvent[];
  /** /metrics reads that failed while sampling (a busy server answers late or drops the connection). */
  sampleErrors: number;
  /** Trace attempts beyond the first (the client retries before the first token). */
  retries: number;
  /** This process's event-loop delay during the run (ms): how late the client could have seen a token. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Share of the run the main thread's event loop was busy (performance.eventLoopUtilization). */
  mainThreadUtilization: number;
  /** The same for each trace thread; null without threads. */
  threadUtilization: number[] | null;
};

export function benchSettings(o: Pick<ExperimentOptions, 'traces' | 'warmup' | 'window' | 'maxTokens'>): RunSettings {
  return {
    traces: o.traces,
    warmup: o.warmup,
    window: o.window,
    keepPercent: 10,
    calibration: 'per-instance',
    calibrationInstances: 20,
    earlyStop: true,
    consensusTau: null,
    seed: 42,
    splitPercentile: 50,
    request: { ...REQUEST_DEFAULTS, maxTokens: o.maxTokens ?? REQUEST_DEFAULTS.maxTokens },
  };
}

async function readMetrics(url: string): Promise<EmulatorMetrics> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new BenchMeasurementError(`GET ${url}/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** One experiment in a throw-away run directory (deleted afterwards). */
export async function runBenchExperiment(o: ExperimentOptions): Promise<ExperimentRun> {
  const dir = mkdtempSync(join(tmpdir(), 'deepconf-bench-'));
  const serverURL = o.baseURL.replace(/\/v1\/?$/, '');
  try {
    const settings = benchSettings(o);
    const { store } = RunStore.create(
      dir,
      {
        runId: 'bench',
        startedAt: new Date().toISOString(),
        config: runConfig({
          traces: o.traces,
          warmup: settings.warmup,
          window: settings.window,
          description: `bench: ${o.instances.length} prompts`,
        }),
        versions: {},
        gitCommit: null,
        server: { emulated: true, baseUrls: [o.baseURL] },
        emulated: true,
      },
      { resume: false },
    );
    const threads = o.clientThreads ?? 1;
    const threaded =
      threads > 1
        ? await ThreadedTraceSource.start({ threads, client: { baseURLs: [o.baseURL], model: o.model } })
        : null;
    const client: TraceSource = threaded ?? new VllmClient({ baseURLs: [o.baseURL], model: o.model, env: {} });
    const samples: MetricsSample[] = [];
    const inFlight: InFlightEvent[] = [];
    let sampling = o.sampleEveryMs > 0;
    let sampleErrors = 0;
    let retries = 0;
    let current = 0;
    const t0 = performance.now();
    const track = (delta: number) => {
      current += delta;
      if (sampling) inFlight.push({ t: (performance.now() - t0) / 1000, inFlight: current });
    };
    // The runner sees the client through this wrapper, which only counts.
    const source: TraceSource = {
      async runTrace(request, hooks) {
        track(1);
        try {
          const r = await client.runTrace(request, hooks);
          // A threaded source reports no attempts: the threads retry on their own.
          if ('attempts' in r && typeof r.attempts === 'number') retries += r.attempts - 1;
          return r;
        } finally {
          track(-1);
        }
      },
    };
    const first = sampling ? await readMetrics(serverURL) : null;
    // Reads are fired on a fixed beat without waiting for the previous answer: a busy server answers late, and
    // waiting would leave long gaps just when the load is highest. Each sample is dated at the middle of its read.
    const pending = new Set<Promise<void>>();
    const sampleOnce = () => {
      const sent = performance.now();
      const p = readMetrics(serverURL).then(
        (m) => {
          samples.push({ ...m, t: ((sent + performance.now()) / 2 - t0) / 1000 });
        },
        () => {
          sampleErrors++;
        },
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };
    const beat = sampling ? setInterval(() => pending.size < 32 && sampleOnce(), o.sampleEveryMs) : null;
    const sampler = {
      async stop() {
        if (beat !== null) clearInterval(beat);
        await Promise.all(pending);
        samples.sort((a, b) => a.t - b.t);
      },
    };
    let outcome;
    let timing;
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const elu0 = perf.eventLoopUtilization();
    const threadElu0 = threaded?.eventLoopUtilization();
    let elu = 0;
    let threadUtilization: number[] | null = null;
    try {
      timing = await cpuSeconds(() =>
        runExperiment({ instances: o.instances, settings, source, store, emulated: true, concurrency: o.concurrency }),
      );
      outcome = timing.value;
      elu = perf.eventLoopUtilization(elu0).utilization;
      if (threaded !== null) threadUtilization = threaded.eventLoopUtilization(threadElu0).map((u) => u.utilization);
    } finally {
      await threaded?.close();
      delay.disable();
      sampling = false;
      await sampler.stop();
      store.close();
    }
    if (outcome.status !== 'completed' || outcome.results === null)
      throw new BenchMeasurementError(`the bench experiment ended ${outcome.status}`);
    if (outcome.results.overall.errors > 0)
      throw new BenchMeasurementError(
        `the bench experiment recorded ${outcome.results.overall.errors} trace errors against the emulator`,
      );
    const last = first === null ? null : await readMetrics(serverURL);
    return {
      results: outcome.results,
      wallSeconds: timing.wall,
      clientCpuSeconds: timing.cpu,
      samples,
      serverTokens: first === null || last === null ? null : last.generationTokens - first.generationTokens,
      serverTokensAfterDisconnect:
        first?.emulator == null || last?.emulator == null
          ? null
          : last.emulator.tokensAfterDisconnect - first.emulator.tokensAfterDisconnect,
      inFlight,
      sampleErrors,
      retries,
      eventLoopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      mainThreadUtilization: elu,
      threadUtilization,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
