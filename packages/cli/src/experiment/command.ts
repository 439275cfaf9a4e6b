import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { execa } from 'execa';
import { isDatasetError } from '@deepconf-safety/datasets';
import { EMULATOR_VERSION, startEmulator } from '@deepconf-safety/emulator';
import { FILES, RunDirectoryError, isRunStoreError, type RunConfig, type Results } from '@deepconf-safety/run-store';
import {
  ExperimentJobFailure,
  RunnerConfigError,
  collapseRepeats,
  isRunnerError,
  runExperimentJob,
  type ExperimentJobIo,
  type ExperimentJobOutcome,
  type JobJudge,
} from '@deepconf-safety/runner';
import { isVllmClientError } from '@deepconf-safety/vllm-client';
import { OptionError, parseExperimentOptions } from './options.js';
import { createProgress, type ProgressDisplay } from './progress.js';
import { gatherProvenance, nodeProvenanceIo } from './provenance.js';
import { judgeBanner, startExperimentJudge } from '../judge/experiment-judge.js';
import type { JudgeFlags } from '../judge/judge-flags.js';
import { chooseServer } from './server.js';

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

const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)}%`);

/** The three estimates of the summary, as printed. */
interface Estimates {
  accuracy: string;
  savings: string;
  earlyStop: string;
}

/** The estimates as results.json has them, without intervals (--no-report, or a report that failed). */
function plainEstimates(o: Results['overall']): Estimates {
  return {
    accuracy: o.accuracy === null ? 'n/a' : pct(100 * o.accuracy),
    savings: pct(o.token_savings_percent),
    earlyStop: o.early_stop_rate === null ? 'n/a' : `${pct(100 * o.early_stop_rate)} of final traces`,
  };
}

function summaryLines(results: Results, e: Estimates): string[] {
  const o = results.overall;
  const b = results.buckets;
  return [
    `prompts ${o.instances} (${o.decided} decided), accuracy ${e.accuracy}, errors ${o.errors}`,
    `tokens ${o.total_tokens} vs baseline ${Math.round(o.baseline_tokens)}${o.baseline_estimated ? ' (estimated)' : ''}: savings ${e.savings}, early-stop rate ${e.earlyStop}`,
    `buckets (split at p${b.splitPercentile} = ${b.splitConfidence === null ? 'n/a' : b.splitConfidence.toFixed(3)}): ` +
      (['confident_refusal', 'uncertain_refusal', 'confident_compliance', 'uncertain_compliance'] as const)
        .map((k) => `${k} ${b[k].count}`)
        .join(', '),
  ];
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

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

/** The process's side of a run: the server choice, the judge, versions, progress, all handed to the runner's job. */
export function experimentJobIo(o: RunConfig, io: CommandIo, signal: AbortSignal): ExperimentJobIo {
  // The bar starts with the run's first progress report, so tokens/s and the ETA leave out the start-up.
  let progress: ProgressDisplay | null = null;
  return {
    env: io.env,
    out: io.out,
    err: io.err,
    clientLog: collapseRepeats(io.out),
    signal,
    progress: {
      update: (p) => (progress ??= createProgress({ tty: io.tty, write: io.out })).update(p),
      stop: () => progress?.stop(),
    },
    openServer: (log) =>
      chooseServer({
        baseUrls: o.baseUrls,
        model: o.model,
        seed: o.seed,
        ...(io.deployStateDir === undefined ? {} : { deployStateDir: io.deployStateDir }),
        startEmulator: ({ model, seed }) =>
          startEmulator({ port: 0, host: '127.0.0.1', model, seed, maxLogprobs: 21, ...(io.emulator ?? {}) }),
        log,
      }),
    startJudge: async ({ baseUrl, emulated }): Promise<JobJudge | null> => {
      const judge = await startExperimentJudge(
        judgeFlagsOf(o),
        o.refusalSource,
        { baseUrl, model: o.model, apiKeyEnv: o.apiKeyEnv, emulated },
        io.env,
      );
      return judge === null ? null : { ...judge, banner: judgeBanner(judge) };
    },
    meterServerTokens: true,
    describeRun: async ({ server, probe, emulated, benchmark }) => ({
      versions: {
        'deepconf-safety': packageVersion(),
        ...(server.origin === 'emulator' ? { emulator: EMULATOR_VERSION } : {}),
      },
      gitCommit: await gitCommit(),
      provenance: await gatherProvenance(
        {
          datasetFiles: benchmark.file === undefined ? [] : [benchmark.file],
          ...{ probe, warmup: o.warmup, traces: o.traces, baseUrls: server.baseUrls, emulated },
          deployStateDir: server.origin === 'deployment' ? (io.deployStateDir ?? '.deploy') : null,
        },
        nodeProvenanceIo(),
      ),
    }),
  };
}

/** Ctrl+C / SIGTERM once: abort the run (finished prompts are kept); twice: quit at once. */
function abortOnSignal(io: CommandIo, controller: AbortController): () => void {
  let signals = 0;
  return io.onSignal((signal) => {
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
}

type Reporting = typeof import('@deepconf-safety/reporting');
type GeneratedReport = Awaited<ReturnType<Reporting['generateReport']>>;

/**
 * Each estimate with its 95% interval and k/n (accuracy and early-stop rate: Wilson; savings: the report's
 * percentile bootstrap over prompts), from the report's own metrics, so the numbers are report.md's.
 */
function reportedEstimates(
  m: GeneratedReport['metrics'],
  wilson: Reporting['wilsonInterval'],
  savingsText: Reporting['savingsIntervalText'],
): Estimates {
  const rateText = (r: { k: number; n: number; value: number | null }, of: string) => {
    if (r.value === null) return `n/a (0 ${of})`;
    const ci = wilson(r.k, r.n);
    return `${pct(100 * r.value)} [${(100 * ci.lower).toFixed(1)}, ${(100 * ci.upper).toFixed(1)}] (${r.k}/${r.n} ${of}, Wilson 95%)`;
  };
  const s = m.tokens.savingsInterval;
  return {
    accuracy: rateText(m.accuracy, 'decided prompts'),
    savings: `${savingsText(s)} (n = ${s?.n ?? 0} prompts, bootstrap 95%)`,
    earlyStop: rateText(m.earlyStop, 'final traces'),
  };
}

/** Writes the report of a completed run; its estimates with their intervals, or the error that stopped it. */
async function writeReport(
  output: string,
): Promise<{ report: GeneratedReport; estimates: Estimates } | { error: unknown }> {
  try {
    // Loaded only here: the figure stack takes seconds to import, and --no-report runs never need it.
    const { generateReport, savingsIntervalText, wilsonInterval } = await import('@deepconf-safety/reporting');
    const report = await generateReport(output);
    return { report, estimates: reportedEstimates(report.metrics, wilsonInterval, savingsIntervalText) };
  } catch (error) {
    return { error };
  }
}

/** Prints what the job did; generates the report of a completed run (reporting is the CLI's to call, not the runner's). */
async function printOutcome(o: RunConfig, outcome: ExperimentJobOutcome, io: CommandIo): Promise<number> {
  const out = (line: string) => io.out(outcome.redact(line));
  const err = (line: string) => io.err(outcome.redact(line));
  if (outcome.status === 'interrupted') {
    err(
      `Interrupted: ${outcome.saved}/${outcome.instances} prompts are saved in ${outcome.output}. Continue with: ${outcome.resumeCommand}`,
    );
    return EXIT.interrupted;
  }
  if (outcome.emulated) out('EMULATED RUN: the figures below come from the emulator, not from a model.');
  const plain = plainEstimates(outcome.results.overall);
  if (outcome.status === 'failed') {
    for (const line of summaryLines(outcome.results, plain)) out(line);
    err(`experiment: ${outcome.health.line}`);
    return EXIT.failed;
  }
  // The report first, so the summary prints each estimate once, with the interval report.md gives it.
  const written = o.report ? await writeReport(outcome.output) : null;
  const estimates = written !== null && 'report' in written ? written.estimates : plain;
  for (const line of summaryLines(outcome.results, estimates)) out(line);
  if (outcome.health !== null) err(outcome.health.line);
  out(`results: ${resolve(outcome.output, FILES.results)}`);
  if (written === null) {
    out('95% intervals of these estimates: not computed with --no-report (npm run figures writes report.md)');
  } else if ('report' in written) {
    const { files } = written.report;
    out(`report: ${resolve(files.html)} (and ${basename(files.markdown)}, ${files.figures.length} figures)`);
  } else {
    err(
      `warning: the report could not be written (${errorText(written.error)}); results.json is complete, retry with npm run figures`,
    );
  }
  return EXIT.ok;
}

/** One line for a failed run (and a hint for a rejected key); bad options or a bad --output exit 2. */
function printFailure(o: RunConfig, failure: ExperimentJobFailure, io: CommandIo): number {
  const { error, redact } = failure;
  if (error instanceof RunDirectoryError) {
    io.err(redact(`experiment: --output ${errorText(error)}`));
    return EXIT.usage;
  }
  const known =
    error instanceof OptionError ||
    isRunStoreError(error) ||
    isRunnerError(error) ||
    isVllmClientError(error) ||
    isDatasetError(error);
  const text = known ? errorText(error) : error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.err(`experiment: ${redact(text)}`);
  if (error instanceof Error && error.name === 'AuthenticationError') {
    io.err(
      `(this run reads the key from the environment variable ${o.apiKeyEnv}${io.env[o.apiKeyEnv] ? '' : ', which is not set'}; choose another with --api-key-env)`,
    );
  }
  return error instanceof OptionError || error instanceof RunnerConfigError ? EXIT.usage : EXIT.failed;
}

/** Runs a parsed config through the runner's job and prints the outcome; returns the exit code. */
export async function runConfigured(o: RunConfig, io: CommandIo): Promise<number> {
  const controller = new AbortController();
  const unregister = abortOnSignal(io, controller);
  try {
    const outcome = await runExperimentJob(o, experimentJobIo(o, io, controller.signal));
    return await printOutcome(o, outcome, io);
  } catch (error) {
    if (error instanceof ExperimentJobFailure) return printFailure(o, error, io);
    throw error;
  } finally {
    unregister();
  }
}

/** `npm run experiment`: parses the flags into a RunConfig and runs it; returns the exit code (0 done, 1 failed, 2 bad options, 130 interrupted). */
export async function experimentCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: RunConfig | null;
  try {
    options = await parseExperimentOptions(argv);
  } catch (error) {
    io.err(`experiment: ${errorText(error)}`);
    return error instanceof OptionError ? EXIT.usage : EXIT.failed;
  }
  if (options === null) return EXIT.ok;
  return runConfigured(options, io);
}
