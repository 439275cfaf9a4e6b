import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import type { RefusalSource } from '@deepconf-safety/runner';
import { JUDGE_OPTIONS, REFUSAL_SOURCE_OPTION, readJudgeFlags, readRefusalSource, type JudgeFlags } from '../judge/judge-flags.js';

export const DEFAULT_MODEL = 'Qwen/Qwen3-1.7B';
/**
 * vLLM batches up to --max-num-seqs sequences (256 by default). Fewer in flight leaves the GPU idle (64 capped
 * utilisation at 0.25 in npm run bench); a quarter more than the batch keeps vLLM's own queue non-empty, so a slot
 * that frees is refilled at once even while the client is busy (measured 0.96 at 256, 0.99 at 320).
 */
export const CONCURRENCY_PER_ENDPOINT = 320;
/** DeepConf's k (confidence over the top-20 logprobs). */
export const DEFAULT_TOP_LOGPROBS = 20;

/** The resolved options of `npm run experiment` (flags over config file over defaults). */
export interface ExperimentOptions {
  model: string;
  benchmark: string;
  numInstances: number | null;
  output: string | null;
  baseUrls: string[];
  apiKeyEnv: string;
  endpoint: 'chat' | 'completions';
  traces: number;
  warmup: number;
  window: number;
  keepPercent: number;
  calibration: 'per-instance' | 'global';
  calibrationInstances: number;
  earlyStop: boolean;
  consensus: number | null;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  /** null = auto: DeepConf's 20, lowered to what the server accepts (see planConfidence in server.ts). */
  topLogprobs: number | null;
  thinking: boolean;
  system: string | null;
  seed: number;
  stratify: boolean;
  splitPercentile: number;
  concurrency: number | null;
  /** Threads that stream, parse and score traces (1 = in the main thread). */
  clientThreads: number;
  retries: number;
  resume: boolean;
  retryErrors: boolean;
  report: boolean;
  config: string | null;
  description: string | null;
  /** The LLM judge (style null = none) and which label the vote uses. */
  judge: JudgeFlags;
  refusalSource: RefusalSource;
}

/** Bad option values: names the flag (or config file) and says what to do. */
/** Runs a yargs parser so that every complaint it has becomes an {@link OptionError} naming the flag. */
export async function parseOrOptionError(parser: Argv): Promise<Record<string, unknown>> {
  try {
    return (await parser
      .exitProcess(false)
      .fail((message: string | undefined, error: Error | undefined) => {
        throw error instanceof OptionError ? error : new OptionError(`${message ?? error?.message ?? 'invalid options'} (see --help)`);
      })
      .parseAsync()) as Record<string, unknown>;
  } catch (error) {
    throw error instanceof OptionError ? error : new OptionError((error as Error).message);
  }
}

export class OptionError extends Error {
  override name = 'OptionError';
}

const NEGATABLE = new Set(['early-stop', 'stratify', 'report']);

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new OptionError(`--config ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a JSON file such as experiments/xstest_full.json`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new OptionError(`--config ${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(`--config ${file}: must hold one JSON object of options, e.g. {"benchmark": "xstest", "traces": 8}`);
  }
  // Config files may spell a negated flag as on the command line ("no-early-stop": true).
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const negated = /^no-(.+)$/.exec(key)?.[1];
    if (negated !== undefined && NEGATABLE.has(negated)) {
      if (typeof v !== 'boolean') throw new OptionError(`--config ${file}: "${key}" must be true or false`);
      out[negated] = !v;
    } else {
      out[key] = v;
    }
  }
  return out;
}

export function buildParser(argv: readonly string[]): Argv {
  return yargs([...argv])
    .scriptName('npm run experiment --')
    .usage(
      '$0 [options]\n\nDeepConf online over a safety benchmark: per prompt, warmup traces calibrate a confidence threshold, the other traces stream and stop early when their sliding-window confidence falls below it, and a confidence-weighted vote decides refuse / comply. With no --base-url and no deployment from `npm run deploy:lambda`, a built-in emulator is started (and the run is marked emulated).',
    )
    .option('config', { type: 'string', describe: 'JSON file of options (keys as the flags, e.g. "num-instances"); flags given on the command line override it', config: true, configParser: readConfigFile })
    .option('model', { type: 'string', default: DEFAULT_MODEL, describe: 'served model name' })
    .option('benchmark', { type: 'string', default: 'xstest', describe: 'toxicchat, wildguardmix, xstest, harmbench, advbench, strongreject, or a CSV/JSONL/JSON/parquet file' })
    .option('num-instances', { type: 'number', describe: 'prompts to sample (stratified by label, seeded); default: all' })
    .option('output', { type: 'string', describe: 'run directory (default results/<benchmark>_<n>)' })
    .option('base-url', { type: 'string', array: true, describe: 'vLLM OpenAI base URL, e.g. http://127.0.0.1:8000/v1; repeat for several endpoints' })
    .option('api-key-env', { type: 'string', default: 'VLLM_API_KEY', describe: 'environment variable holding the vLLM API key (the key itself is never logged or stored)' })
    .option('endpoint', { choices: ['chat', 'completions'] as const, default: 'chat' as const, describe: 'vLLM API: chat completions (chat template, thinking switch) or legacy completions' })
    .option('traces', { type: 'number', default: 8, describe: 'traces per prompt, warmup included' })
    .option('warmup', { type: 'number', default: 4, describe: 'warmup traces per prompt: run to completion, they set the stop threshold' })
    .option('window', { type: 'number', default: 64, describe: 'sliding window in tokens (stop rule and lowest-group confidence); short, because safety answers are short' })
    .option('keep-percent', { type: 'number', default: 10, describe: 'DeepConf eta, the share of warmup confidence kept: 10 = DeepConf-low (aggressive), 90 = DeepConf-high' })
    .option('calibration', { choices: ['per-instance', 'global'] as const, default: 'per-instance' as const, describe: "per-instance: each prompt's warmup sets its threshold; global: the warmup of a calibration slice sets one threshold for all" })
    .option('calibration-instances', { type: 'number', default: 20, describe: 'size of the calibration slice (first prompts of the sample) with --calibration global' })
    .option('early-stop', { type: 'boolean', default: true, describe: 'stop low-confidence traces; --no-early-stop runs every trace in full (exact token baseline, replayable by npm run sweep)' })
    .option('consensus', { type: 'number', describe: 'adaptive sampling: stop launching a prompt\'s traces once the weighted vote share reaches this (e.g. 0.95); off by default' })
    .option('max-tokens', { type: 'number', default: 512, describe: 'max tokens per trace' })
    .option('temperature', { type: 'number', default: 0.6, describe: 'sampling temperature' })
    .option('top-p', { type: 'number', default: 0.95, describe: 'nucleus sampling' })
    .option('top-k', { type: 'number', default: 20, describe: 'top-k sampling (-1 = off)' })
    .option('top-logprobs', { type: 'number', describe: `k of the token confidence (default ${DEFAULT_TOP_LOGPROBS} as in DeepConf). Chat needs the server's --max-logprobs >= k+1 for the exact set; at exactly k it uses the k alternatives chat returns (confidenceMode chat-view, with a warning); below k the default is lowered with a warning and an explicit value is refused` })
    .option('thinking', { choices: ['on', 'off'] as const, default: 'off' as const, describe: 'Qwen3 thinking (enable_thinking); the answer is judged without the thinking' })
    .option('system', { type: 'string', describe: 'system prompt (default none)' })
    .option('seed', { type: 'number', default: 42, describe: 'run seed: the prompt sample and every trace seed derive from it' })
    .option('stratify', { type: 'boolean', default: true, describe: 'keep the label mix when sampling --num-instances' })
    .option('split-percentile', { type: 'number', default: 50, describe: 'percentile of prompt confidence splitting confident from uncertain buckets' })
    .option('concurrency', { type: 'number', describe: `traces in flight across all prompts (default ${CONCURRENCY_PER_ENDPOINT} per endpoint)` })
    .option('client-threads', { type: 'number', default: 1, describe: 'threads that stream, parse and score traces; one keeps up with about one GPU (README, Benchmarks), so give about one per endpoint with several' })
    .option('retries', { type: 'number', default: 2, describe: 'retries of a trace whose stream breaks before it is recorded as an error' })
    .option('resume', { type: 'boolean', default: false, describe: 'finish an interrupted run in --output (refused if the configuration differs)' })
    .option('retry-errors', { type: 'boolean', default: false, describe: 'with --resume: redo only the traces recorded as errors' })
    .option('report', { type: 'boolean', default: true, describe: 'write the report at the end (--no-report to skip)' })
    .option('description', { type: 'string', describe: 'free text recorded in the manifest (config files use it)' })
    .options(JUDGE_OPTIONS)
    .options(REFUSAL_SOURCE_OPTION)
    .strictOptions()
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns ?? 100));
}

const num = (argv: Record<string, unknown>, key: string): number | null => {
  const v = argv[key];
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) throw new OptionError(`--${key}: given more than once (${v.join(', ')}); give it once (a flag overrides the config file by itself)`);
  if (typeof v !== 'number' || Number.isNaN(v)) throw new OptionError(`--${key}: expected a number, got ${typeof v === 'number' ? 'something else' : JSON.stringify(v)}`);
  return v;
};

function int(argv: Record<string, unknown>, key: string, min: number): number {
  const v = num(argv, key);
  if (v === null || !Number.isInteger(v) || v < min) throw new OptionError(`--${key}: must be an integer >= ${min} (got ${JSON.stringify(argv[key])})`);
  return v;
}

function range(argv: Record<string, unknown>, key: string, lo: number, hi: number, loOpen = false): number {
  const v = num(argv, key);
  if (v === null || !(loOpen ? v > lo : v >= lo) || v > hi) throw new OptionError(`--${key}: must be in ${loOpen ? '(' : '['}${lo}, ${hi}] (got ${JSON.stringify(argv[key])})`);
  return v;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Parses and checks the command line; `null` when yargs already printed help. */
export async function parseExperimentOptions(argv: readonly string[]): Promise<ExperimentOptions | null> {
  const raw = await parseOrOptionError(buildParser(argv));
  if (raw['help'] === true) return null;
  const baseUrls = ((raw['base-url'] as unknown[] | undefined) ?? []).map(String);
  for (const url of baseUrls) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new OptionError(`--base-url ${url}: not an http(s) URL; pass the server's OpenAI base, e.g. http://127.0.0.1:8000/v1`);
  }
  const numInstances = num(raw, 'num-instances');
  if (numInstances !== null && (!Number.isInteger(numInstances) || numInstances < 1)) throw new OptionError(`--num-instances: must be an integer >= 1 (got ${numInstances})`);
  const concurrency = num(raw, 'concurrency');
  if (concurrency !== null && (!Number.isInteger(concurrency) || concurrency < 1)) throw new OptionError(`--concurrency: must be an integer >= 1 (got ${concurrency})`);
  const consensus = num(raw, 'consensus');
  if (consensus !== null && !(consensus > 0.5 && consensus <= 1)) throw new OptionError(`--consensus: must be in (0.5, 1], e.g. 0.95 (got ${consensus})`);
  const retryErrors = raw['retry-errors'] === true;
  const judge = readJudgeFlags(raw);
  const resume = raw['resume'] === true || retryErrors;
  const options: ExperimentOptions = {
    model: str(raw['model']) ?? DEFAULT_MODEL,
    benchmark: str(raw['benchmark']) ?? 'xstest',
    numInstances,
    output: str(raw['output']),
    baseUrls,
    apiKeyEnv: str(raw['api-key-env']) ?? 'VLLM_API_KEY',
    endpoint: raw['endpoint'] === 'completions' ? 'completions' : 'chat',
    traces: int(raw, 'traces', 1),
    warmup: int(raw, 'warmup', 0),
    window: int(raw, 'window', 1),
    keepPercent: range(raw, 'keep-percent', 0, 100, true),
    calibration: raw['calibration'] === 'global' ? 'global' : 'per-instance',
    calibrationInstances: int(raw, 'calibration-instances', 1),
    earlyStop: raw['early-stop'] !== false,
    consensus,
    maxTokens: int(raw, 'max-tokens', 1),
    temperature: range(raw, 'temperature', 0, 10),
    topP: range(raw, 'top-p', 0, 1, true),
    topK: int(raw, 'top-k', -1),
    topLogprobs: raw['top-logprobs'] === undefined ? null : int(raw, 'top-logprobs', 1),
    thinking: raw['thinking'] === 'on',
    system: str(raw['system']),
    seed: int(raw, 'seed', 0),
    stratify: raw['stratify'] !== false,
    splitPercentile: range(raw, 'split-percentile', 0, 100),
    concurrency,
    clientThreads: int(raw, 'client-threads', 1),
    retries: int(raw, 'retries', 0),
    resume,
    retryErrors,
    report: raw['report'] !== false,
    config: str(raw['config']),
    description: str(raw['description']),
    judge,
    refusalSource: readRefusalSource(raw, judge.style),
  };
  if (options.warmup > options.traces) throw new OptionError(`--warmup ${options.warmup} exceeds --traces ${options.traces}; warmup traces are part of each prompt's traces`);
  if (options.warmup === 0 && (options.earlyStop || options.calibration === 'global')) {
    throw new OptionError('--warmup 0 leaves nothing to calibrate the stop threshold; use --warmup >= 1 (or --no-early-stop with per-instance calibration)');
  }
  return options;
}
