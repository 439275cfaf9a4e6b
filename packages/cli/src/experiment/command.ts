import { randomUUID } from 'node:crypto';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { isDatasetError, loadBenchmark, sampleInstances, summarizeSkipped } from '@deepconf-safety/datasets';
import { EMULATOR_VERSION, startEmulator } from '@deepconf-safety/emulator';
import {
  FILES,
  RUN_STORE_SCHEMA_VERSION,
  RunDirectoryError,
  RunStore,
  isRunStoreError,
  parseLabelMap,
  prepareRunDirectory,
  redactUrl,
  urlSecrets,
  type Manifest,
  type Results,
  type RunConfig,
  type RunDerived,
} from '@deepconf-safety/run-store';
import {
  ThreadedTraceSource,
  isRunnerError,
  redactSecrets,
  runExperiment,
  type RunSettings,
} from '@deepconf-safety/runner';
import { VllmClient, isVllmClientError, type ServerProbe } from '@deepconf-safety/vllm-client';
import {
  CONCURRENCY_PER_ENDPOINT,
  DEFAULT_TOP_LOGPROBS,
  OptionError,
  parseExperimentOptions,
  type ExperimentOptions,
} from './options.js';
import { collapseRepeats, runHealth, tallyErrors } from './health.js';
import { createProgress } from './progress.js';
import { gatherProvenance, nodeProvenanceIo } from './provenance.js';
import { judgeBanner, startExperimentJudge, type ExperimentJudge } from '../judge/experiment-judge.js';
import type { JudgeFlags } from '../judge/judge-flags.js';
import { chooseServer, emulatorBanner, planConfidence, serverLogprobsLimit, type ServerChoice } from './server.js';

/** The process edges of the command, injected so it can run inside tests. */
export interface CommandIo {
  env: Readonly<Record<string, string | undefined>>;
  out(line: string): void;
  err(line: string): void;
  tty: boolean;
  /** Registers Ctrl+C / SIGTERM; returns an unregister function. */
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
  /** Options of the emulator started when no server is configured. */
  emulator?: { tokensPerSecond?: number; ttftMs?: number };
  deployStateDir?: string;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

function packageVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string })
        .version ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
}

async function gitCommit(): Promise<string | null> {
  const r = await execa('git', ['rev-parse', 'HEAD'], { reject: false, timeout: 5_000 });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

function benchmarkLabel(benchmark: string): string {
  const name =
    benchmark.includes('/') || benchmark.includes('\\') || extname(benchmark) !== ''
      ? basename(benchmark, extname(benchmark))
      : benchmark;
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').toLowerCase();
}

/** The config as the manifest records it: what the run used (sample size and k resolved), URLs without secrets. */
function recordedConfig(
  o: RunConfig,
  resolved: { numInstances: number; topLogprobs: number; output: string },
): RunConfig {
  return {
    ...o,
    ...resolved,
    baseUrls: o.baseUrls.map(redactUrl),
    judgeBaseUrl: o.judgeBaseUrl === null ? null : redactUrl(o.judgeBaseUrl),
  };
}

function derivedOf(
  instanceIds: readonly string[],
  serverKind: 'emulator' | 'vllm',
  confidenceMode: RunDerived['confidenceMode'],
): RunDerived {
  return {
    instancesHash: createHash('sha256').update(instanceIds.join('\n')).digest('hex').slice(0, 16),
    server: serverKind,
    confidenceMode,
  };
}

/** --idle-timeout / --first-token-timeout / --trace-timeout (seconds) as the client's options; unset keeps its defaults. */
function timeouts(o: RunConfig): { idleTimeoutMs?: number; firstTokenTimeoutMs?: number; traceTimeoutMs?: number } {
  return {
    ...(o.idleTimeout === null ? {} : { idleTimeoutMs: Math.round(o.idleTimeout * 1000) }),
    ...(o.firstTokenTimeout === null ? {} : { firstTokenTimeoutMs: Math.round(o.firstTokenTimeout * 1000) }),
    ...(o.traceTimeout === null ? {} : { traceTimeoutMs: Math.round(o.traceTimeout * 1000) }),
  };
}

/** The judge flags as the judge module takes them (`npm run judge` parses its own). */
function judgeFlagsOf(o: RunConfig): JudgeFlags {
  return {
    style: o.judge === 'none' ? null : o.judge,
    baseUrl: o.judgeBaseUrl,
    model: o.judgeModel,
    apiKeyEnv: o.judgeApiKeyEnv,
    endpoint: o.judgeEndpoint,
    concurrency: 32,
  };
}

/** The datasets loader's options for the benchmark flags. */
function loadOptions(o: RunConfig): Parameters<typeof loadBenchmark>[1] {
  const columnMap = {
    ...(o.promptColumn === null ? {} : { prompt: o.promptColumn }),
    ...(o.labelColumn === null ? {} : { label: o.labelColumn }),
  };
  return {
    ...(Object.keys(columnMap).length > 0 ? { columnMap } : {}),
    ...(o.labelMap === null ? {} : { labelMap: parseLabelMap(o.labelMap) }),
    ...(o.unlabelled ? { unlabelled: true } : {}),
    ...(o.encoding === null ? {} : { encoding: o.encoding }),
  };
}

function runSettings(o: RunConfig & { topLogprobs: number }): RunSettings {
  return {
    traces: o.traces,
    warmup: o.warmup,
    window: o.window,
    keepPercent: o.keepPercent,
    calibration: o.calibration,
    calibrationInstances: o.calibrationInstances,
    earlyStop: o.earlyStop,
    consensusTau: o.consensus,
    seed: o.seed,
    splitPercentile: o.splitPercentile,
    decisionConfidence: o.decisionConfidence,
    vote: o.vote,
    request: {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      topP: o.topP,
      topK: o.topK,
      topLogprobs: o.topLogprobs,
      thinking: o.thinking === 'on',
      ...(o.system === null ? {} : { system: o.system }),
    },
  };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)}%`);

function summaryLines(results: Results): string[] {
  const o = results.overall;
  const b = results.buckets;
  return [
    `prompts ${o.instances} (${o.decided} decided), accuracy ${o.accuracy === null ? 'n/a' : pct(100 * o.accuracy)}, errors ${o.errors}`,
    `tokens ${o.total_tokens} vs baseline ${Math.round(o.baseline_tokens)}${o.baseline_estimated ? ' (estimated)' : ''}: savings ${pct(o.token_savings_percent)}, early-stop rate ${o.early_stop_rate === null ? 'n/a' : `${pct(100 * o.early_stop_rate)} of final traces`}`,
    `buckets (split at p${b.splitPercentile} = ${b.splitConfidence === null ? 'n/a' : b.splitConfidence.toFixed(3)}): ` +
      (['confident_refusal', 'uncertain_refusal', 'confident_compliance', 'uncertain_compliance'] as const)
        .map((k) => `${k} ${b[k].count}`)
        .join(', '),
  ];
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `npm run experiment`: returns the exit code (0 done, 1 failed, 2 bad options, 130 interrupted). */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the orchestration moves into the runner with runExperiment's split (issue 15, left open)
export async function experimentCommand(argv: readonly string[], io0: CommandIo): Promise<number> {
  let io = io0;
  let options: ExperimentOptions | null;
  try {
    options = await parseExperimentOptions(argv);
  } catch (error) {
    io.err(`experiment: ${errorText(error)}`);
    return error instanceof OptionError ? EXIT.usage : EXIT.failed;
  }
  if (options === null) return EXIT.ok;
  const o = options;
  if (o.output !== null) {
    // A bad --output is found before anything starts (an emulator, a download, a GPU).
    try {
      prepareRunDirectory(o.output);
    } catch (error) {
      io.err(`experiment: --output ${errorText(error)}`);
      return EXIT.usage;
    }
  }

  const apiKey = io.env[o.apiKeyEnv] || undefined;
  // A key may also sit in a --base-url (user:key@host, ?api_key=...): nothing printed or stored may show it.
  const secrets = [
    ...(apiKey ? [apiKey] : []),
    ...urlSecrets([...o.baseUrls, ...(o.judgeBaseUrl === null ? [] : [o.judgeBaseUrl])]),
  ];
  const scrub = (text: string) => redactSecrets(text, secrets);
  io = { ...io, out: (line) => io0.out(scrub(line)), err: (line) => io0.err(scrub(line)) };
  const clientLog = collapseRepeats((line) => io.out(line));

  let server: ServerChoice | null = null;
  let store: RunStore | null = null;
  let manifest: Manifest | null = null;
  let judge: ExperimentJudge | null = null;
  let unregister = () => {};
  try {
    server = await chooseServer({
      baseUrls: o.baseUrls,
      model: o.model,
      seed: o.seed,
      ...(io.deployStateDir === undefined ? {} : { deployStateDir: io.deployStateDir }),
      startEmulator: ({ model, seed }) =>
        startEmulator({ port: 0, host: '127.0.0.1', model, seed, maxLogprobs: 21, ...(io.emulator ?? {}) }),
      log: (line) => io.out(line),
    });
    if (server.origin === 'emulator') {
      io.out(
        emulatorBanner(
          server.baseUrls[0] ?? '',
          'No --base-url was given and no deployment is recorded in .deploy/ (npm run deploy:lambda).',
        ),
      );
    }

    const loaded = await loadBenchmark(o.benchmark, loadOptions(o));
    const skipped = summarizeSkipped(loaded.skipped);
    if (skipped) io.err(`warning: ${o.benchmark}: ${skipped}`);
    if (loaded.records.length === 0)
      throw new OptionError(`--benchmark ${o.benchmark}: no usable prompts in ${loaded.source}`);
    const instances = sampleInstances(loaded.records, {
      n: o.numInstances ?? loaded.records.length,
      seed: o.seed,
      stratify: o.stratify,
    });
    const output = o.output ?? join('results', `${benchmarkLabel(o.benchmark)}_${instances.length}`);
    if (o.retryErrors && !existsSync(join(output, FILES.manifest))) {
      throw new OptionError(
        `--retry-errors: ${output} holds no run; pass the --output of the run whose errors to redo`,
      );
    }

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
      log: (line) => clientLog.write(`vllm: ${line}`),
      ...timeouts(o),
    });
    const probe: ServerProbe[] = await client.probe();
    const emulated = server.origin === 'emulator' || probe.some((p) => p.healthy && p.emulated);
    if (emulated && server.origin !== 'emulator') {
      io.out(emulatorBanner(server.baseUrls.join(', '), 'The server at --base-url says it is an emulator.'));
    }
    const healthy = probe.filter((p) => p.healthy);
    const plan = planConfidence({
      endpoint: o.endpoint,
      requested: o.topLogprobs,
      defaultK: DEFAULT_TOP_LOGPROBS,
      serverMax: serverLogprobsLimit(probe, probed),
    });
    if (plan.warning !== null) io.err(plan.warning);
    client.setTopKMode(plan.confidenceMode);
    const eff = { ...o, topLogprobs: plan.topLogprobs, confidenceMode: plan.confidenceMode };

    judge = await startExperimentJudge(
      judgeFlagsOf(o),
      o.refusalSource,
      { baseUrl: server.baseUrls[0] ?? '', model: o.model, apiKeyEnv: o.apiKeyEnv, emulated },
      io.env,
    );
    if (judge !== null) secrets.push(...judge.secrets);
    const config = recordedConfig(o, { numInstances: instances.length, topLogprobs: plan.topLogprobs, output });
    const derived = derivedOf(
      instances.map((r) => r.id),
      emulated ? 'emulator' : 'vllm',
      plan.confidenceMode,
    );
    const versions: Record<string, string> = {
      'deepconf-safety': packageVersion(),
      node: process.version,
      runStoreSchema: String(RUN_STORE_SCHEMA_VERSION),
    };
    const serverVersion = healthy.find((p) => p.version !== null)?.version;
    if (serverVersion) versions['server'] = serverVersion;
    if (server.origin === 'emulator') versions['emulator'] = EMULATOR_VERSION;
    const created = RunStore.create(
      output,
      {
        runId: `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`,
        startedAt: new Date().toISOString(),
        config,
        derived,
        versions,
        gitCommit: await gitCommit(),
        server: {
          emulated,
          baseUrls: server.baseUrls.map(redactUrl),
          origin: server.origin,
          probe: probe.map((p) => ({ ...p, baseURL: redactUrl(p.baseURL) })),
        },
        emulated,
        cost: await server.cost(new Date()),
        benchmarkSource: loaded.source,
        skippedRows: loaded.skipped.length,
        provenance: await gatherProvenance(
          {
            datasetFiles: loaded.file === undefined ? [] : [loaded.file],
            ...{ probe, warmup: o.warmup, traces: o.traces, baseUrls: server.baseUrls, emulated },
            deployStateDir: server.origin === 'deployment' ? (io.deployStateDir ?? '.deploy') : null,
          },
          nodeProvenanceIo(),
        ),
        ...(judge === null ? {} : { judge: { ...judge.manifest, baseUrl: redactUrl(judge.manifest.baseUrl) } }),
      },
      { resume: o.resume },
    );
    store = created.store;
    manifest = created.manifest;
    if (created.staleLockOf !== null)
      io.err(
        `note: ${output} was locked by pid ${created.staleLockOf}, which no longer runs; this process took the lock over`,
      );
    const resumeCommand = `npm run experiment -- ${o.config ? `--config ${o.config} ` : ''}--output ${output} --resume`;
    if (created.resumed && !o.retryErrors) {
      const kept = tallyErrors(store.readTraces());
      if (kept.traces > 0) {
        io.err(
          `note: ${kept.traces} trace(s) recorded as errors (in ${kept.prompts} prompts) are kept as they are; to redo them add --retry-errors (${resumeCommand} --retry-errors)`,
        );
      }
    }
    if (created.migratedFrom !== null)
      io.out(
        `note: ${output} was written in run-store format ${created.migratedFrom}; its manifest is now in the current format`,
      );
    io.out(
      `${created.resumed ? 'Resuming' : 'Starting'} run ${manifest.runId} in ${output}: ${instances.length} prompts of ${o.benchmark} x ${o.traces} traces (warmup ${o.warmup}, window ${o.window}, keep ${o.keepPercent}%${o.earlyStop ? '' : ', no early stop'}) against ${server.baseUrls.join(', ')}${emulated ? ' [EMULATED]' : ''}`,
    );

    if (judge !== null) io.out(judgeBanner(judge));
    const controller = new AbortController();
    let signals = 0;
    unregister = io.onSignal((signal) => {
      signals++;
      if (signals === 1) {
        io.err(
          `\n${signal}: stopping; in-flight traces are aborted, finished prompts are kept. Continue later with --resume (again to quit at once).`,
        );
        controller.abort();
      } else {
        io.err('quitting without cleanup; the run can still be resumed with --resume');
        process.exit(EXIT.interrupted);
      }
    });

    const progress = createProgress({ tty: io.tty, write: io.out });
    const concurrency = o.concurrency ?? CONCURRENCY_PER_ENDPOINT * Math.max(1, healthy.length);
    let outcome;
    // With several threads the probed client stays here for the probe's sake; each thread gets a client of its own.
    const threaded =
      o.clientThreads > 1
        ? await ThreadedTraceSource.start({
            threads: o.clientThreads,
            client: {
              baseURLs: server.baseUrls,
              model: o.model,
              endpoint: o.endpoint,
              topKMode: client.topKMode,
              ...timeouts(o),
              ...(apiKey ? { apiKey } : {}),
            },
          })
        : null;
    if (threaded !== null) io.out(`client: ${o.clientThreads} trace threads stream, parse and stop the traces`);
    try {
      outcome = await runExperiment({
        instances,
        settings: runSettings(eff),
        source: threaded ?? client,
        store,
        emulated,
        concurrency,
        maxAttempts: o.retries + 1,
        retryErrors: o.retryErrors,
        signal: controller.signal,
        onProgress: (p) => progress.update(p),
        secrets,
        ...(judge === null ? {} : { judge: judge.attach(output, secrets) }),
      });
    } finally {
      progress.stop();
      clientLog.flush();
      await threaded?.close();
    }
    const finishedAt = new Date();
    manifest = {
      ...manifest,
      status: outcome.status,
      finishedAt: outcome.status === 'completed' ? finishedAt.toISOString() : null,
      cost: await server.cost(finishedAt),
    };
    store.writeManifest(manifest);
    if (outcome.status === 'interrupted') {
      io.err(
        `Interrupted: ${outcome.resumedInstances + outcome.ranInstances}/${instances.length} prompts are saved in ${output}. Continue with: npm run experiment -- ${o.config ? `--config ${o.config} ` : ''}--output ${output} --resume`,
      );
      return EXIT.interrupted;
    }

    const results = outcome.results as Results;
    if (emulated) io.out('EMULATED RUN: the figures below come from the emulator, not from a model.');
    for (const line of summaryLines(results)) io.out(line);
    const health =
      results.overall.errors > 0
        ? runHealth(store.readInstances(), tallyErrors(store.readTraces()), resumeCommand)
        : null;
    if (health !== null) io.err(health.failed ? `experiment: ${health.line}` : health.line);
    if (health?.failed === true) {
      store.writeManifest({ ...manifest, status: 'failed', error: health.line });
      return EXIT.failed;
    }
    io.out(`results: ${resolve(store.path('results'))}`);
    if (o.report) {
      try {
        // Loaded only here: the figure stack takes seconds to import, and --no-report runs never need it.
        const { generateReport } = await import('@deepconf-safety/reporting');
        const report = await generateReport(output);
        io.out(
          `report: ${resolve(report.files.html)} (and ${basename(report.files.markdown)}, ${report.files.figures.length} figures)`,
        );
      } catch (error) {
        io.err(
          `warning: the report could not be written (${scrub(errorText(error))}); results.json is complete, retry with npm run figures`,
        );
      }
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof RunDirectoryError) {
      io.err(`experiment: --output ${errorText(error)}`);
      return EXIT.usage;
    }
    const known =
      error instanceof OptionError ||
      isRunStoreError(error) ||
      isRunnerError(error) ||
      isVllmClientError(error) ||
      isDatasetError(error);
    io.err(
      `experiment: ${scrub(known ? errorText(error) : error instanceof Error ? (error.stack ?? error.message) : String(error))}`,
    );
    if (error instanceof Error && error.name === 'AuthenticationError') {
      io.err(
        `(this run reads the key from the environment variable ${o.apiKeyEnv}${apiKey ? '' : ', which is not set'}; choose another with --api-key-env)`,
      );
    }
    if (store && manifest) {
      try {
        store.writeManifest({ ...manifest, status: 'failed', error: scrub(errorText(error)) });
      } catch {
        // The original error matters more than a manifest we could not update.
      }
    }
    return error instanceof OptionError ? EXIT.usage : EXIT.failed;
  } finally {
    unregister();
    judge?.close();
    store?.close();
    await server?.close();
  }
}
