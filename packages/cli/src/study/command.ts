import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { startEmulatorThread } from '@deepconf-safety/emulator';
import {
  StudyConfigError,
  StudyEndpointError,
  cellArgv,
  emulatorBanner,
  expandGrid,
  httpListModels,
  isRunnerError,
  readStudyConfig,
  redactSecrets,
  runStudy,
  type StudyConfig,
  type StudyOutcome,
} from '@deepconf-safety/runner';
import { urlSecrets } from '@deepconf-safety/run-store';
import { OptionError, parseOrOptionError } from '../experiment/options.js';
import { loadDeploy } from '../experiment/server.js';
import { checkCellFlags, runExperimentCell } from './cell.js';
import { createStudyProgress } from './progress.js';

/** The process edges of `npm run study`, injected so tests run it in-process. */
export interface StudyIo {
  env: Readonly<Record<string, string | undefined>>;
  out(line: string): void;
  err(line: string): void;
  tty: boolean;
  /** The terminal the status line is drawn on when `tty` (default process.stdout). */
  ttyStream?: NodeJS.WriteStream;
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
  deployStateDir?: string;
}

export const STUDY_EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

interface StudyFlags {
  config: string;
  output: string | null;
  resume: boolean;
  baseUrls: string[];
  maxCostUsd: number | null;
  gpuPrice: number | null;
  cellsPerEndpoint: number | null;
  apiKeyEnv: string;
  report: boolean;
}

async function parseStudyFlags(argv: readonly string[]): Promise<StudyFlags | null> {
  const raw = await parseOrOptionError(
    yargs([...argv])
      .scriptName('npm run study --')
      .usage(
        '$0 --config experiments/<study>.json [options]\n\nRuns a study (models x benchmarks x settings x seeds), each cell an ordinary run directory, then writes the study report.',
      )
      .option('config', { type: 'string', demandOption: true, describe: 'study file (see experiments/README.md)' })
      .option('output', {
        type: 'string',
        describe: 'study directory (default: the study file\'s "output", else results/study_<name>)',
      })
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'continue the study in --output: only unfinished cells (and their unfinished prompts) run',
      })
      .option('base-url', {
        type: 'string',
        array: true,
        describe: 'endpoint(s) asked for every model the study file gives no endpoints for; repeat for several',
      })
      .option('max-cost-usd', {
        type: 'number',
        describe:
          'stop launching cells once the projected cost would pass this (needs a price: a Lambda deployment or --gpu-price-usd-per-hour)',
      })
      .option('gpu-price-usd-per-hour', {
        type: 'number',
        describe: 'hourly price of each endpoint (default: the price deploy:lambda recorded)',
      })
      .option('cells-per-endpoint', {
        type: 'number',
        describe: "cells one endpoint runs at once (default: the study file's, else 1)",
      })
      .option('api-key-env', {
        type: 'string',
        default: 'VLLM_API_KEY',
        describe: 'environment variable holding the vLLM API key',
      })
      .option('report', {
        type: 'boolean',
        default: true,
        describe: 'write the study report at the end (--no-report to skip)',
      })
      .strictOptions()
      .help(),
  );
  if (raw['help'] === true) return null;
  const num = (key: string, min: number): number | null => {
    const v = raw[key];
    if (v === undefined) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
      throw new OptionError(`--${key}: must be a number >= ${min} (got ${JSON.stringify(v)})`);
    return v;
  };
  const slots = num('cells-per-endpoint', 1);
  if (slots !== null && !Number.isInteger(slots))
    throw new OptionError(`--cells-per-endpoint: must be an integer >= 1 (got ${slots})`);
  return {
    config: String(raw['config']),
    output: raw['output'] === undefined ? null : String(raw['output']),
    resume: raw['resume'] === true,
    baseUrls: ((raw['base-url'] as unknown[] | undefined) ?? []).map(String),
    maxCostUsd: num('max-cost-usd', 0),
    gpuPrice: num('gpu-price-usd-per-hour', 0),
    cellsPerEndpoint: slots,
    apiKeyEnv: String(raw['api-key-env']),
    report: raw['report'] !== false,
  };
}

/** Every setting's flags through the experiment's parser (one cell per setting is enough: the grid adds only model, benchmark, seed). */
async function checkSettings(config: StudyConfig, file: string): Promise<void> {
  const cells = expandGrid(config, file);
  for (const setting of Object.keys(config.settings)) {
    const cell = cells.find((c) => c.setting === setting);
    if (cell === undefined) continue;
    const problem = await checkCellFlags(cellArgv(config, cell));
    if (problem !== null)
      throw new StudyConfigError(file, `settings.${setting} (with options)`, `is not a valid experiment: ${problem}`);
  }
}

interface Servers {
  urls: string[];
  priceOf(url: string): number | null;
  emulated: boolean;
  /** Cells each endpoint runs at once when neither the study file nor the flag says (null: the runner's 1). */
  cellsPerEndpoint: number | null;
  close(): Promise<void>;
}

/**
 * Cells the study's own emulator runs at once. It has a thread of its own and a 256-sequence batch, which one cell
 * fills; a second cell fills the gaps of the first (its start-up, its last slow traces) and keeps both cores busy.
 */
export const EMULATOR_CELLS = 2;

/** --base-url, else a Lambda deployment (with its prices), else an emulator serving every model of the study. */
async function chooseStudyServers(flags: StudyFlags, config: StudyConfig, io: StudyIo): Promise<Servers> {
  const fixed = (): number | null => flags.gpuPrice;
  const needsFallback =
    config.endpoints === undefined ||
    (!Array.isArray(config.endpoints) && config.models.some((m) => !(m in (config.endpoints as object))));
  if (flags.baseUrls.length > 0 || !needsFallback)
    return {
      urls: flags.baseUrls,
      priceOf: fixed,
      emulated: false,
      cellsPerEndpoint: null,
      close: async () => undefined,
    };
  const deploy = await loadDeploy();
  const deployments = deploy ? (await deploy.readDeploymentState(io.deployStateDir ?? '.deploy')).deployments : [];
  if (deployments.length > 0) {
    const price = new Map(deployments.map((d) => [d.endpoint, d.hourlyPriceUsd]));
    return {
      urls: deployments.map((d) => d.endpoint),
      priceOf: (u) => flags.gpuPrice ?? price.get(u) ?? null,
      emulated: false,
      cellsPerEndpoint: null,
      close: async () => undefined,
    };
  }
  // In a thread of its own: in this one it would share an event loop with every cell's client.
  const emu = await startEmulatorThread({ port: 0, host: '127.0.0.1', servedModels: config.models, maxLogprobs: 21 });
  io.out(
    emulatorBanner(
      emu.baseURL,
      `No endpoint was given and no deployment is recorded in .deploy/: the emulator serves the study's ${config.models.length} models.`,
    ),
  );
  return {
    urls: [emu.baseURL],
    priceOf: fixed,
    emulated: true,
    cellsPerEndpoint: EMULATOR_CELLS,
    close: () => emu.close(),
  };
}

function summary(outcome: StudyOutcome, output: string): string[] {
  const cells = outcome.study.cells;
  const done = cells.filter((c) => c.state === 'done').length;
  const cost = cells.reduce((s, c) => s + (c.costUsd ?? 0), 0);
  const priced = cells.some((c) => c.costUsd !== null);
  return [
    `study ${outcome.study.name}: ${outcome.status}, ${done}/${cells.length} cells done, ${cells.reduce((s, c) => s + (c.tokens ?? 0), 0)} tokens, ${cells.reduce((s, c) => s + c.gpuSeconds, 0).toFixed(1)} endpoint-seconds${priced ? `, $${cost.toFixed(2)}` : ''}`,
    `study.json: ${resolve(join(output, 'study.json'))}`,
  ];
}

type Reporting = typeof import('@deepconf-safety/reporting');

/**
 * Starts importing the figure stack (seconds of module loading) while the cells run, so the report does not wait
 * for it at the end; a failed import surfaces only when the report is written.
 */
function preloadReporting(): Promise<Reporting> {
  const loading = import('@deepconf-safety/reporting');
  loading.catch(() => undefined);
  return loading;
}

async function writeReport(output: string, io: StudyIo, reporting: Promise<Reporting>): Promise<void> {
  const { generateStudyReport } = await reporting;
  const report = await generateStudyReport(output);
  io.out(
    `report: ${resolve(report.files.html)} (and ${report.files.markdown}, ${report.files.figures.length} figures)`,
  );
}

function exitCode(status: StudyOutcome['status']): number {
  if (status === 'completed') return STUDY_EXIT.ok;
  if (status === 'interrupted') return STUDY_EXIT.interrupted;
  return STUDY_EXIT.failed;
}

/** `npm run study`: 0 done, 1 a cell failed or the budget stopped it, 2 bad input (unserved model included), 130 interrupted. */
export async function studyCommand(argv: readonly string[], io0: StudyIo): Promise<number> {
  let io = io0;
  let flags: StudyFlags | null;
  let config: StudyConfig;
  try {
    flags = await parseStudyFlags(argv);
    if (flags === null) return STUDY_EXIT.ok;
    config = readStudyConfig(flags.config);
    if (flags.cellsPerEndpoint !== null) config = { ...config, cellsPerEndpoint: flags.cellsPerEndpoint };
    await checkSettings(config, flags.config);
  } catch (error) {
    io.err(`study: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof OptionError || error instanceof StudyConfigError ? STUDY_EXIT.usage : STUDY_EXIT.failed;
  }
  const f = flags;
  const output = f.output ?? config.output ?? join('results', `study_${config.name ?? 'study'}`);
  const apiKey = io.env[f.apiKeyEnv] || undefined;
  // A key may also sit in a --base-url (user:key@host, ?api-key=...): no line printed may show it.
  const secrets = [...(apiKey ? [apiKey] : []), ...urlSecrets(f.baseUrls)];
  const scrub = (t: string): string => redactSecrets(t, secrets);
  io = { ...io0, out: (line) => io0.out(scrub(line)), err: (line) => io0.err(scrub(line)) };
  const controller = new AbortController();
  const unregister = io.onSignal((signal) => {
    io.err(`\n${signal}: stopping; running cells keep their finished prompts. Continue with --resume.`);
    controller.abort();
  });
  let servers: Servers | null = null;
  // Set once the cells are about to start (see onPlan); a holder, since a closure assigns it.
  const preload: { reporting: Promise<Reporting> | null } = { reporting: null };
  const progress = createStudyProgress({
    tty: io.tty,
    write: io.out,
    ...(io.ttyStream === undefined ? {} : { stream: io.ttyStream }),
  });
  try {
    servers = await chooseStudyServers(f, config, io);
    if (f.maxCostUsd !== null && f.gpuPrice === null && !servers.urls.some((u) => servers?.priceOf(u) !== null)) {
      throw new OptionError(
        '--max-cost-usd: no price is known (no Lambda deployment in .deploy/); pass --gpu-price-usd-per-hour too',
      );
    }
    const s = servers;
    if (config.cellsPerEndpoint === undefined && s.cellsPerEndpoint !== null)
      config = { ...config, cellsPerEndpoint: s.cellsPerEndpoint };
    const outcome = await runStudy({
      config,
      configFile: f.config,
      output,
      resume: f.resume,
      endpoints: s.urls,
      listModels: httpListModels(apiKey),
      priceOf: (u) => s.priceOf(u),
      maxCostUsd: f.maxCostUsd,
      runCell: (req) => runExperimentCell(req, io.env, f.apiKeyEnv),
      signal: controller.signal,
      onEvent: (e) => progress.event(e),
      onPlan: (study) => {
        io.out(
          `${f.resume ? 'Resuming' : 'Starting'} study ${study.name} in ${output}: ${study.cells.length} cells (${study.cells.filter((c) => c.state === 'done').length} done) on ${study.endpoints.map((e) => `${e.url} [${e.models.join(', ')}]${e.emulated ? ' EMULATED' : ''}`).join('; ')}`,
        );
        // Only now: the endpoints have answered, and a study that stops before its cells never needs the figures.
        if (f.report) preload.reporting = preloadReporting();
      },
    });
    progress.stop();
    for (const line of summary(outcome, output)) io.out(line);
    if (outcome.status === 'budget_stopped')
      io.err('study: stopped launching cells at --max-cost-usd; continue with --resume and a larger budget');
    if (outcome.status === 'interrupted')
      io.err(`study: interrupted; continue with npm run study -- --config ${f.config} --output ${output} --resume`);
    if (f.report && outcome.study.cells.some((c) => c.state === 'done'))
      await writeReport(output, io, preload.reporting ?? preloadReporting());
    return exitCode(outcome.status);
  } catch (error) {
    progress.stop();
    io.err(
      `study: ${scrub(error instanceof Error ? (isRunnerError(error) || error instanceof OptionError ? error.message : (error.stack ?? error.message)) : String(error))}`,
    );
    return error instanceof OptionError || error instanceof StudyEndpointError || error instanceof StudyConfigError
      ? STUDY_EXIT.usage
      : STUDY_EXIT.failed;
  } finally {
    unregister();
    await servers?.close();
  }
}
