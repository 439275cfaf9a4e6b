import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadBenchmark, sampleInstances, summarizeSkipped, type LoadResult } from '@deepconf-safety/datasets';
import {
  FILES,
  RUN_STORE_SCHEMA_VERSION,
  RunStore,
  prepareRunDirectory,
  redactUrl,
  type CreateResult,
  type Manifest,
  type Results,
  type RunConfig,
} from '@deepconf-safety/run-store';
import { VllmClient, type ServerProbe } from '@deepconf-safety/vllm-client';
import { RunnerConfigError, redactSecrets } from '../errors.js';
import type { RunProgress } from '../experiment/run-recorder.js';
import type { InstanceInput } from '../experiment/settings.js';
import type { TraceJudge } from '../judge/trace-judge.js';
import { runExperiment, type RunOutcome } from '../run-experiment.js';
import { ThreadedTraceSource } from '../threaded-source.js';
import {
  clientTimeouts,
  defaultOutput,
  derivedOf,
  loadOptions,
  recordedConfig,
  resumeCommand,
  runSecrets,
  runSettings,
} from './config-mapping.js';
import { type ErrorTally, runHealth } from './run-health.js';
import { fetchMeterIo, startServerTokenMeter, type ServerTokenMeter } from './server-tokens.js';
import {
  type ConfidencePlan,
  type ServerChoice,
  emulatorBanner,
  planConfidence,
  serverLogprobsLimit,
} from './server-plan.js';

/**
 * vLLM batches up to --max-num-seqs sequences (256 by default). Fewer in flight leaves the GPU idle (64 capped
 * utilisation at 0.25 in npm run bench); a quarter more than the batch keeps vLLM's own queue non-empty, so a slot
 * that frees is refilled at once even while the client is busy (measured 0.96 at 256, 0.99 at 320).
 */
export const CONCURRENCY_PER_ENDPOINT = 320;
/** DeepConf's k (confidence over the top-20 logprobs). */
export const DEFAULT_TOP_LOGPROBS = 20;

/** An LLM judge connected by the caller (the CLI's --judge), attached to the run directory once the store exists. */
export interface JobJudge {
  /** For the manifest (never the key); its baseUrl is stored redacted. */
  manifest: { baseUrl: string; [field: string]: unknown };
  /** The judge's key, to redact. */
  secrets: readonly string[];
  /** One line saying which judge and which label the vote uses. */
  banner: string;
  attach(dir: string, secrets: readonly string[]): TraceJudge;
  close(): void;
}

/** What the caller adds to the manifest: versions, commit, provenance (it knows the package and the machine). */
export interface RunDescription {
  config: RunConfig;
  server: ServerChoice;
  probe: readonly ServerProbe[];
  emulated: boolean;
  benchmark: LoadResult;
}

/** The I/O of a run, injected: the CLI passes the process's, a study cell its own, tests theirs. */
export interface ExperimentJobIo {
  env: Readonly<Record<string, string | undefined>>;
  /** Progress and notes (stdout) / warnings (stderr); every line is redacted first. */
  out(line: string): void;
  err(line: string): void;
  /** The client's log lines (the CLI collapses repeats); default: `out`. */
  clientLog?: { write(line: string): void; flush(): void };
  /** Where the traces go: --base-url, a recorded deployment, or an emulator started here (closed by the job). */
  openServer(log: (line: string) => void): Promise<ServerChoice>;
  /** The --judge of the run, connected (null or absent: none). */
  startJudge?(defaults: { baseUrl: string; emulated: boolean }): Promise<JobJudge | null>;
  /** Versions and commit (and any provenance) for the manifest. */
  describeRun(
    run: RunDescription,
  ): Promise<{ versions: Record<string, string>; gitCommit: string | null } & Record<string, unknown>>;
  /**
   * Record the tokens the server generated beyond the client's count (manifest `serverTokens`): only when this run
   * is the endpoints' only client (the CLI's single run, not a study's concurrent cells). Default off.
   */
  meterServerTokens?: boolean;
  /** Aborts the run (Ctrl+C): in-flight traces are aborted, finished prompts kept. */
  signal?: AbortSignal;
  progress?: { update(p: RunProgress): void; stop(): void };
  now?(): Date;
}

export type ExperimentJobOutcome = { output: string; emulated: boolean; redact(text: string): string } & (
  | { status: 'completed'; results: Results; instances: number; health: { failed: false; line: string } | null }
  | { status: 'interrupted'; saved: number; instances: number; resumeCommand: string }
  /** Every trace failed: nothing was measured (the manifest says `failed`). */
  | { status: 'failed'; results: Results; instances: number; health: { failed: true; line: string } }
);

/** A failure of the job, with what it knows (the output directory, if it got that far) and the redaction to print it. */
export class ExperimentJobFailure extends Error {
  override name = 'ExperimentJobFailure';
  constructor(
    readonly error: unknown,
    readonly output: string | null,
    readonly redact: (text: string) => string,
  ) {
    super(redact(error instanceof Error ? error.message : String(error)), { cause: error });
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

interface JobState {
  config: RunConfig;
  io: ExperimentJobIo;
  secrets: string[];
  redact(text: string): string;
  out(line: string): void;
  err(line: string): void;
  now(): Date;
}

/** The benchmark's prompts, sampled, and the run directory they go to. */
async function loadInstances(
  job: JobState,
): Promise<{ loaded: LoadResult; instances: InstanceInput[]; output: string }> {
  const o = job.config;
  const loaded = await loadBenchmark(o.benchmark, loadOptions(o));
  const skipped = summarizeSkipped(loaded.skipped);
  if (skipped) job.err(`warning: ${o.benchmark}: ${skipped}`);
  if (loaded.records.length === 0)
    throw new RunnerConfigError(`--benchmark ${o.benchmark}`, `no usable prompts in ${loaded.source}`);
  const instances = sampleInstances(loaded.records, {
    n: o.numInstances ?? loaded.records.length,
    seed: o.seed,
    stratify: o.stratify,
  });
  const output = o.output ?? defaultOutput(o.benchmark, instances.length);
  if (o.retryErrors && !existsSync(join(output, FILES.manifest))) {
    throw new RunnerConfigError(
      '--retry-errors',
      `${output} holds no run; pass the --output of the run whose errors to redo`,
    );
  }
  return { loaded, instances, output };
}

interface Connected {
  client: VllmClient;
  probe: ServerProbe[];
  healthy: ServerProbe[];
  emulated: boolean;
  plan: ConfidencePlan;
}

/** Probes the endpoints (health, version, emulated, top_logprobs limit) and chooses K and the confidence mode. */
async function connect(job: JobState, server: ServerChoice, apiKey: string | undefined): Promise<Connected> {
  const o = job.config;
  const clientLog = job.io.clientLog;
  const requestedK = o.topLogprobs ?? DEFAULT_TOP_LOGPROBS;
  // The probe asks for what an exact run needs (chat: K+1); a refusal tells the server's real limit.
  const probed = o.endpoint === 'chat' ? requestedK + 1 : requestedK;
  const client = new VllmClient({
    baseURLs: server.baseUrls,
    model: o.model,
    endpoint: o.endpoint,
    env: {},
    probeTopLogprobs: probed,
    ...(apiKey ? { apiKey } : {}),
    log: (line) => (clientLog ? clientLog.write(job.redact(`vllm: ${line}`)) : job.out(`vllm: ${line}`)),
    ...clientTimeouts(o),
  });
  const probe: ServerProbe[] = await client.probe();
  const emulated = server.origin === 'emulator' || probe.some((p) => p.healthy && p.emulated);
  if (emulated && server.origin !== 'emulator') {
    job.out(emulatorBanner(server.baseUrls.join(', '), 'The server at --base-url says it is an emulator.'));
  }
  const plan = planConfidence({
    endpoint: o.endpoint,
    requested: o.topLogprobs,
    defaultK: DEFAULT_TOP_LOGPROBS,
    serverMax: serverLogprobsLimit(probe, probed),
  });
  if (plan.warning !== null) job.err(plan.warning);
  client.setTopKMode(plan.confidenceMode);
  return { client, probe, healthy: probe.filter((p) => p.healthy), emulated, plan };
}

interface Prepared {
  server: ServerChoice;
  loaded: LoadResult;
  instances: InstanceInput[];
  output: string;
  target: Connected;
  judge: JobJudge | null;
}

/** Creates (or resumes) the run store with its manifest, and says what the run is about to do. */
async function openRunStore(job: JobState, p: Prepared): Promise<CreateResult> {
  const o = job.config;
  const { server, target, judge, output, instances } = p;
  const described = await job.io.describeRun({
    config: o,
    server,
    probe: target.probe,
    emulated: target.emulated,
    benchmark: p.loaded,
  });
  const { versions, gitCommit, ...provenance } = described;
  const serverVersion = target.healthy.find((probe) => probe.version !== null)?.version;
  const created = RunStore.create(
    output,
    {
      runId: `${job.now().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`,
      startedAt: job.now().toISOString(),
      config: recordedConfig(o, { numInstances: instances.length, topLogprobs: target.plan.topLogprobs, output }),
      derived: derivedOf(
        instances.map((r) => r.id),
        target.emulated ? 'emulator' : 'vllm',
        target.plan.confidenceMode,
      ),
      versions: {
        ...versions,
        node: process.version,
        runStoreSchema: String(RUN_STORE_SCHEMA_VERSION),
        ...(serverVersion ? { server: serverVersion } : {}),
      },
      gitCommit,
      server: {
        emulated: target.emulated,
        baseUrls: server.baseUrls.map(redactUrl),
        origin: server.origin,
        probe: target.probe.map((probe) => ({ ...probe, baseURL: redactUrl(probe.baseURL) })),
      },
      emulated: target.emulated,
      cost: await server.cost(job.now()),
      benchmarkSource: p.loaded.source,
      skippedRows: p.loaded.skipped.length,
      ...provenance,
      ...(judge === null ? {} : { judge: { ...judge.manifest, baseUrl: redactUrl(judge.manifest.baseUrl) } }),
    },
    { resume: o.resume },
  );
  announce(job, p, created);
  return created;
}

/** The notes about the run directory as found, and the line that says what runs where. */
function announce(job: JobState, p: Prepared, created: CreateResult): void {
  const o = job.config;
  const { output } = p;
  if (created.staleLockOf !== null)
    job.err(
      `note: ${output} was locked by pid ${created.staleLockOf}, which no longer runs; this process took the lock over`,
    );
  if (created.migratedFrom !== null)
    job.out(
      `note: ${output} was written in run-store format ${created.migratedFrom}; its manifest is now in the current format`,
    );
  job.out(
    `${created.resumed ? 'Resuming' : 'Starting'} run ${created.manifest.runId} in ${output}: ${p.instances.length} prompts of ${o.benchmark} x ${o.traces} traces (warmup ${o.warmup}, window ${o.window}, keep ${o.keepPercent}%${o.earlyStop ? '' : ', no early stop'}) against ${p.server.baseUrls.join(', ')}${p.target.emulated ? ' [EMULATED]' : ''}`,
  );
  if (p.judge !== null) job.out(p.judge.banner);
}

/** On --resume (without --retry-errors), the note that the store's error traces are kept, and how to redo them. */
function noteKeptErrors(job: JobState, output: string, kept: ErrorTally): void {
  if (kept.traces === 0) return;
  job.err(
    `note: ${kept.traces} trace(s) recorded as errors (in ${kept.prompts} prompts) are kept as they are; to redo them add --retry-errors (${resumeCommand(job.config, output)} --retry-errors)`,
  );
}

/** The run loop over a trace source: the probed client, or (--client-threads) worker threads with clients of their own. */
async function runTraces(
  job: JobState,
  p: Prepared,
  created: CreateResult,
  apiKey: string | undefined,
): Promise<RunOutcome> {
  const o = job.config;
  const noteResume = created.resumed && !o.retryErrors;
  const threaded =
    o.clientThreads > 1
      ? await ThreadedTraceSource.start({
          threads: o.clientThreads,
          client: {
            baseURLs: p.server.baseUrls,
            model: o.model,
            endpoint: o.endpoint,
            topKMode: p.target.client.topKMode,
            ...clientTimeouts(o),
            ...(apiKey ? { apiKey } : {}),
          },
        })
      : null;
  if (threaded !== null) job.out(`client: ${o.clientThreads} trace threads stream, parse and stop the traces`);
  const progress = job.io.progress;
  try {
    return await runExperiment({
      instances: p.instances,
      settings: runSettings(o, p.target.plan.topLogprobs),
      source: threaded ?? p.target.client,
      store: created.store,
      emulated: p.target.emulated,
      concurrency: o.concurrency ?? CONCURRENCY_PER_ENDPOINT * Math.max(1, p.target.healthy.length),
      maxAttempts: o.retries + 1,
      retryErrors: o.retryErrors,
      ...(job.io.signal === undefined ? {} : { signal: job.io.signal }),
      ...(progress === undefined ? {} : { onProgress: (u: RunProgress) => progress.update(u) }),
      // The store's kept errors come from the run's own read of it (traces.jsonl is read once).
      ...(noteResume
        ? { onResume: ({ errors }: { errors: ErrorTally }) => noteKeptErrors(job, p.output, errors) }
        : {}),
      secrets: job.secrets,
      ...(p.judge === null ? {} : { judge: p.judge.attach(p.output, job.secrets) }),
    });
  } finally {
    progress?.stop();
    job.io.clientLog?.flush();
    await threaded?.close();
  }
}

/** Reads the server's token counter before the run; a judge on the same server or a resume makes it unsound. */
function serverTokenMeter(p: Prepared, created: CreateResult, apiKey: string | undefined): Promise<ServerTokenMeter> {
  const judgeUrl = p.judge?.manifest.baseUrl ?? null;
  const sharedJudge = p.judge !== null && (judgeUrl === null || p.server.baseUrls.includes(judgeUrl));
  return startServerTokenMeter(
    {
      baseUrls: p.server.baseUrls,
      model: created.manifest.config.model,
      unsound: created.resumed
        ? 'a resumed run: the counter covers this session, the client count every session'
        : sharedJudge
          ? 'the judge generated on the same server'
          : null,
    },
    fetchMeterIo(apiKey),
  );
}

/** The manifest after the run, and the verdict on a run with failed traces (all failed: the run failed). */
async function concludeRun(
  job: JobState,
  p: Prepared,
  created: CreateResult,
  outcome: RunOutcome,
  meter: ServerTokenMeter | null,
): Promise<ExperimentJobOutcome> {
  const finishedAt = job.now();
  const manifest: Manifest = {
    ...created.manifest,
    status: outcome.status,
    finishedAt: outcome.status === 'completed' ? finishedAt.toISOString() : null,
    cost: await p.server.cost(finishedAt),
    ...(meter === null ? {} : { serverTokens: await meter.finish(outcome.results?.overall.total_tokens ?? null) }),
  };
  const { store } = created;
  store.writeManifest(manifest);
  const base = { output: p.output, emulated: p.target.emulated, redact: job.redact, instances: p.instances.length };
  if (outcome.status === 'interrupted' || outcome.results === null) {
    const saved = outcome.resumedInstances + outcome.ranInstances;
    return { ...base, status: 'interrupted', saved, resumeCommand: resumeCommand(job.config, p.output) };
  }
  const results = outcome.results;
  // The run's own tally of what the store holds: nothing is read back.
  const health =
    results.overall.errors > 0 ? runHealth(outcome.prompts, outcome.errors, resumeCommand(job.config, p.output)) : null;
  if (health?.failed === true) {
    store.writeManifest({ ...manifest, status: 'failed', error: health.line });
    return { ...base, status: 'failed', results, health: { failed: true, line: health.line } };
  }
  return {
    ...base,
    status: 'completed',
    results,
    health: health === null ? null : { failed: false, line: health.line },
  };
}

/**
 * One experiment, end to end: check --output → choose the server (injected) → load and sample the benchmark →
 * probe the endpoints and choose K → connect the judge → create or resume the run store (manifest) → run the loop
 * → record the outcome in the manifest. Returns the outcome for the caller to print (and to report on);
 * throws an {@link ExperimentJobFailure} after recording `failed` in the manifest. Closes everything it opened.
 */
export async function runExperimentJob(config: RunConfig, io: ExperimentJobIo): Promise<ExperimentJobOutcome> {
  const { apiKey, secrets } = runSecrets(config, io.env);
  const redact = (text: string) => redactSecrets(text, secrets);
  const job: JobState = {
    config,
    io,
    secrets,
    redact,
    out: (line) => io.out(redact(line)),
    err: (line) => io.err(redact(line)),
    now: io.now ?? (() => new Date()),
  };
  let server: ServerChoice | null = null;
  let output: string | null = null;
  let created: CreateResult | null = null;
  let judge: JobJudge | null = null;
  try {
    // A bad --output is found before anything starts (an emulator, a download, a GPU).
    if (config.output !== null) prepareRunDirectory(config.output);
    server = await io.openServer((line) => job.out(line));
    if (server.origin === 'emulator') {
      job.out(
        emulatorBanner(
          server.baseUrls[0] ?? '',
          'No --base-url was given and no deployment is recorded in .deploy/ (npm run deploy:lambda).',
        ),
      );
    }
    const { loaded, instances, output: dir } = await loadInstances(job);
    output = dir;
    const target = await connect(job, server, apiKey);
    judge = (await io.startJudge?.({ baseUrl: server.baseUrls[0] ?? '', emulated: target.emulated })) ?? null;
    if (judge !== null) secrets.push(...judge.secrets);
    const prepared: Prepared = { server, loaded, instances, output, target, judge };
    created = await openRunStore(job, prepared);
    const meter = io.meterServerTokens === true ? await serverTokenMeter(prepared, created, apiKey) : null;
    const outcome = await runTraces(job, prepared, created, apiKey);
    return await concludeRun(job, prepared, created, outcome, meter);
  } catch (error) {
    if (created !== null) {
      try {
        created.store.writeManifest({ ...created.manifest, status: 'failed', error: redact(errorText(error)) });
      } catch {
        // The original error matters more than a manifest we could not update.
      }
    }
    throw new ExperimentJobFailure(error, output, redact);
  } finally {
    judge?.close();
    created?.store.close();
    await server?.close();
  }
}
