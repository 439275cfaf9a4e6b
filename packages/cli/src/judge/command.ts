import { setMaxListeners } from 'node:events';
import { basename, resolve } from 'node:path';
import yargs from 'yargs';
import { startEmulator } from '@deepconf-safety/emulator';
import type { JudgeStyle } from '@deepconf-safety/refusal';
import { RunStore, isRunStoreError, type Manifest } from '@deepconf-safety/run-store';
import { isRunnerError, judgeRun, redactSecrets, type JudgeRunProgress } from '@deepconf-safety/runner';
import { EXIT, type CommandIo } from '../experiment/command.js';
import { OptionError, parseOrOptionError } from '../experiment/options.js';
import {
  JUDGE_CONCURRENCY_OPTION,
  JUDGE_OPTIONS,
  connectJudge,
  readJudgeFlags,
  type JudgeFlags,
} from './judge-flags.js';

function buildParser(argv: readonly string[]) {
  return yargs([...argv])
    .scriptName('npm run judge --')
    .usage(
      "$0 <run> --judge wildguard|xstest|harmbench [options]\n\nJudges every answered trace of a finished run with an LLM judge (concurrent requests, progress, resumable: judgments already in the run's judgments.jsonl are never asked again), then redraws its report with detector–judge agreement.",
    )
    .positional('run', { type: 'string', describe: 'run directory (the --output of npm run experiment)' })
    .options(JUDGE_OPTIONS)
    .options(JUDGE_CONCURRENCY_OPTION)
    .option('retry-unparsable', {
      type: 'boolean',
      default: false,
      describe: 'ask again where the judge answered outside its format (endpoint failures are always asked again)',
    })
    .option('report', {
      type: 'boolean',
      default: true,
      describe: 'redraw report.html / report.md at the end (--no-report to skip)',
    })
    .strictOptions()
    .help()
    .version(false);
}

/** The judge's endpoint when none is given: the run's server, or a fresh emulator if the run's emulator is gone. */
async function defaultEndpoint(
  manifest: Manifest,
  model: string,
  io: CommandIo,
): Promise<{ baseUrl: string; emulated: boolean; close(): Promise<void> }> {
  const origin = (manifest.server as { origin?: unknown }).origin;
  if (origin === 'emulator' || (manifest.emulated && manifest.server.baseUrls.length === 0)) {
    const seed = typeof manifest.config['seed'] === 'number' ? manifest.config['seed'] : 0;
    const emu = await startEmulator({ port: 0, host: '127.0.0.1', model, seed, ...(io.emulator ?? {}) });
    io.out(`judge: the run used the built-in emulator, so an emulated judge answers at ${emu.baseURL} [EMULATED]`);
    return { baseUrl: emu.baseURL, emulated: true, close: () => emu.close() };
  }
  const baseUrl = manifest.server.baseUrls[0];
  if (baseUrl === undefined) throw new OptionError('the run records no server; pass --judge-base-url');
  return { baseUrl, emulated: manifest.server.emulated, close: async () => undefined };
}

function progressLine(p: JudgeRunProgress): string {
  return `[judge] ${p.cached + p.judged}/${p.total} traces judged (${p.cached} from the cache, ${p.judged} now, ${p.failed} without a verdict)`;
}

/** What the command line asks for: the run directory, the judge and the flags beside it. */
interface JudgeArgs {
  dir: string;
  style: JudgeStyle;
  flags: JudgeFlags;
  retryUnparsable: boolean;
  report: boolean;
}

/** Parses the command line; null for --help. Throws OptionError with a line that says what to change. */
async function parseJudgeArgs(argv: readonly string[]): Promise<JudgeArgs | null> {
  const raw = await parseOrOptionError(buildParser(argv));
  if (raw['help'] === true) return null;
  const flags = readJudgeFlags(raw);
  const positional = (raw['_'] as unknown[]).map(String);
  if (positional.length !== 1)
    throw new OptionError(
      `give exactly one run directory (got ${positional.length}); e.g. npm run judge -- results/xstest_40 --judge wildguard`,
    );
  if (flags.style === null) throw new OptionError('--judge is required: wildguard, xstest or harmbench');
  return {
    dir: positional[0]!,
    style: flags.style,
    flags,
    retryUnparsable: raw['retry-unparsable'] === true,
    report: raw['report'] !== false,
  };
}

/** Progress at most every 2 s (every update on a terminal), and always the last one. */
function throttledProgress(io: CommandIo): (p: JudgeRunProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (io.tty || now - last >= 2_000 || p.cached + p.judged === p.total) {
      last = now;
      io.out(progressLine(p));
    }
  };
}

/** Records this judge in the manifest's post-hoc judges, replacing an earlier entry of the same style and model. */
function recordPosthocJudge(
  store: RunStore,
  manifest: Manifest,
  style: JudgeStyle,
  judge: { identity: { model: string }; manifest: object },
): void {
  const judges = ((manifest as { posthocJudges?: unknown[] }).posthocJudges ?? []).filter(
    (j) =>
      !(
        typeof j === 'object' &&
        j !== null &&
        (j as { style?: unknown }).style === style &&
        (j as { model?: unknown }).model === judge.identity.model
      ),
  );
  store.writeManifest({
    ...manifest,
    posthocJudges: [...judges, { ...judge.manifest, at: new Date().toISOString() }],
  });
}

type JudgeOutcome = Awaited<ReturnType<typeof judgeRun>>;

/** Says how the judging went; the exit code when it ends the command here (interrupted), else null. */
function reportJudging(outcome: JudgeOutcome, io: CommandIo): number | null {
  if (outcome.status === 'interrupted') {
    io.err(
      `judge: interrupted after ${outcome.judged} new judgments; rerun the same command to judge the remaining ${outcome.total - outcome.cached - outcome.judged}`,
    );
    return EXIT.interrupted;
  }
  const failed = Object.entries(outcome.failures);
  io.out(`judged ${outcome.total} traces (${outcome.judged} now, ${outcome.cached} already in judgments.jsonl)`);
  if (failed.length > 0) {
    io.err(
      `warning: ${failed.reduce((a, [, n]) => a + n, 0)} traces have no verdict (${failed.map(([k, n]) => `${k} ${n}`).join(', ')}); each is recorded in judgments.jsonl with the raw answer, and counted in the report`,
    );
  }
  return null;
}

/** 1 when the endpoint failed every request asked now (a wrong URL or model), else 0. */
function exitForFailures(outcome: JudgeOutcome, io: CommandIo): number {
  const allFailed = outcome.judged > 0 && outcome.failures['call_failed'] === outcome.judged;
  if (!allFailed) return EXIT.ok;
  io.err(
    'judge: the judge endpoint failed every request; check --judge-base-url / --judge-model and rerun (failed requests are asked again)',
  );
  return EXIT.failed;
}

/** The run's model and the environment variable its API key came from, as the manifest recorded them. */
function runIdentity(manifest: Manifest): { model: string; apiKeyEnv: string } {
  const model = typeof manifest.config['model'] === 'string' ? manifest.config['model'] : 'unknown';
  const runOptions = (manifest as { runOptions?: { apiKeyEnv?: unknown } }).runOptions;
  const apiKeyEnv = typeof runOptions?.apiKeyEnv === 'string' ? runOptions.apiKeyEnv : 'VLLM_API_KEY';
  return { model, apiKeyEnv };
}

/** `npm run judge`: 0 done, 1 failed, 2 bad options or run directory, 130 interrupted. */
export async function judgeCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let args: JudgeArgs | null;
  try {
    args = await parseJudgeArgs(argv);
    if (args === null) return EXIT.ok;
  } catch (error) {
    io.err(`judge: ${(error as Error).message}`);
    return EXIT.usage;
  }
  const { dir, style, flags } = args;
  let store: RunStore;
  let manifest: Manifest;
  try {
    store = RunStore.open(dir);
    manifest = store.readManifest();
  } catch (error) {
    io.err(`judge: ${(error as Error).message}`);
    return isRunStoreError(error) ? EXIT.usage : EXIT.failed;
  }
  const { model, apiKeyEnv } = runIdentity(manifest);
  let endpoint: { baseUrl: string; emulated: boolean; close(): Promise<void> } | null = null;
  const controller = new AbortController();
  // Every judge request in flight listens on it: up to --judge-concurrency listeners is expected, not a leak.
  setMaxListeners(0, controller.signal);
  const unregister = io.onSignal(() => {
    io.err('\njudge: stopping; judgments so far are saved in judgments.jsonl, rerun the same command to finish');
    controller.abort();
  });
  let secrets: string[] = [];
  try {
    endpoint = flags.baseUrl === null ? await defaultEndpoint(manifest, flags.model ?? model, io) : null;
    const judge = await connectJudge(
      { ...flags, style },
      { baseUrl: endpoint?.baseUrl ?? '', model, apiKeyEnv, emulated: endpoint?.emulated ?? false },
      io.env,
    );
    secrets = judge.apiKey ? [judge.apiKey] : [];
    io.out(
      `judge: ${style} (${judge.identity.model}) at ${judge.baseUrl} via ${judge.endpoint}${judge.identity.emulated ? ' [EMULATED judge]' : ''}, ${flags.concurrency} at a time, on ${dir}`,
    );
    const outcome = await judgeRun({
      dir,
      judge: judge.identity,
      client: judge.client,
      concurrency: flags.concurrency,
      retryUnparsable: args.retryUnparsable,
      signal: controller.signal,
      secrets,
      onProgress: throttledProgress(io),
    });
    recordPosthocJudge(store, manifest, style, judge);
    const stopped = reportJudging(outcome, io);
    if (stopped !== null) return stopped;
    if (args.report) {
      const { generateReport } = await import('@deepconf-safety/reporting');
      const report = await generateReport(dir);
      io.out(`report: ${resolve(report.files.html)} (and ${basename(report.files.markdown)})`);
    }
    return exitForFailures(outcome, io);
  } catch (error) {
    io.err(
      `judge: ${redactSecrets(error instanceof Error ? (isRunnerError(error) || error instanceof OptionError ? error.message : (error.stack ?? error.message)) : String(error), secrets)}`,
    );
    return error instanceof OptionError ? EXIT.usage : EXIT.failed;
  } finally {
    unregister();
    await endpoint?.close();
  }
}
