import { z } from 'zod';

/**
 * The one typed run configuration: `npm run experiment` parses its flags and `--config` file into it once, the
 * manifest stores it (`manifest.config`), and every reader (reports, replay, sweep, compare) gets it typed.
 *
 * To add an option, add one field to {@link RunConfigShape}: a zod type with its default and a `.describe()`
 * (the --help text). The CLI derives the flag from it (`keepPercent` → `--keep-percent`; `.meta({ flag })` for
 * another name), coerces command-line text to the field's type and validates flags and config file together.
 * Fields that do not change results go into {@link OPERATIONAL_KEYS}; every other field is part of the run's
 * identity, which `--resume` compares. A new field needs a default, so that older manifests still parse.
 */

/** A zod number check whose every complaint says what is expected (the CLI prints "expected <message>"). */
function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected });
}

function inRange(lo: number, hi: number, loOpen = false) {
  const expected = `a number in ${loOpen ? '(' : '['}${lo}, ${hi}]`;
  const n = z.number({ error: expected });
  return (loOpen ? n.gt(lo, { error: expected }) : n.gte(lo, { error: expected })).lte(hi, { error: expected });
}

/**
 * A timeout in seconds. Bounded above because it becomes a Node timer, and a timer beyond 2^31 - 1 ms (24.8 days)
 * fires at once (Node clamps it to 1 ms): `--trace-timeout 3e6` ended every trace immediately. Bounded below so it
 * stays a positive number of milliseconds.
 */
function timeoutSeconds() {
  const expected = 'a number of seconds > 0 and at most 86400 (one day)';
  return z.number({ error: expected }).gte(0.001, { error: expected }).lte(86_400, { error: expected });
}

const text = (what = 'a non-empty string') => z.string({ error: what }).min(1, { error: what });
const flag = (what: string) => z.boolean({ error: `true or false (${what})` });
const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: values.map((v) => JSON.stringify(v)).join(' or ') });

const httpUrl = text('an http(s) URL, e.g. http://127.0.0.1:8000/v1').refine(
  (url) => {
    try {
      return ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      return false;
    }
  },
  { error: "an http(s) URL: the server's OpenAI base, e.g. http://127.0.0.1:8000/v1" },
);

/** `refuse=1,comply=0`: label values (case-insensitive) → should the model refuse. */
export const LabelMapSchema = z
  .string({ error: 'label=1|0 pairs, e.g. refuse=1,comply=0' })
  .regex(/^\s*[^=,]+=\s*[01]\s*(,\s*[^=,]+=\s*[01]\s*)*$/, { error: 'label=1|0 pairs, e.g. refuse=1,comply=0' });

/** Parses a {@link LabelMapSchema} string into the datasets loader's `labelMap`. */
export function parseLabelMap(spec: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const pair of spec.split(',')) {
    const [label = '', value = ''] = pair.split('=').map((s) => s.trim());
    out[label] = value === '1';
  }
  return out;
}

export const DEFAULT_MODEL = 'Qwen/Qwen3-1.7B';

export const RunConfigShape = {
  // What is asked: model, prompts, sampling. These decide the results.
  model: text().default(DEFAULT_MODEL).describe('served model name'),
  benchmark: text()
    .default('xstest')
    .describe('toxicchat, wildguardmix, xstest, harmbench, advbench, strongreject, or a CSV/JSONL/JSON/parquet file'),
  numInstances: int(1)
    .nullable()
    .default(null)
    .describe('prompts to sample (stratified by label, seeded); default: all'),
  stratify: flag('stratify').default(true).describe('keep the label mix when sampling --num-instances'),
  seed: int(0).default(42).describe('run seed: the prompt sample and every trace seed derive from it'),
  promptColumn: text().nullable().default(null).describe('column holding the prompt, for a --benchmark file'),
  labelColumn: text()
    .nullable()
    .default(null)
    .describe('column holding the "should refuse" label, for a --benchmark file'),
  labelMap: LabelMapSchema.nullable()
    .default(null)
    .describe('label values of --label-column and whether they mean "should refuse", e.g. refuse=1,comply=0'),
  unlabelled: flag('unlabelled')
    .default(false)
    .describe('accept a --benchmark file without labels (reports then say accuracy is not available)'),
  encoding: text()
    .nullable()
    .default(null)
    .describe('text encoding of a --benchmark file (default UTF-8, and invalid UTF-8 is an error)'),
  endpoint: choice(['chat', 'completions'])
    .default('chat')
    .describe('vLLM API: chat completions (chat template, thinking switch) or legacy completions'),
  traces: int(1).default(8).describe('traces per prompt, warmup included'),
  warmup: int(0).default(4).describe('warmup traces per prompt: run to completion, they set the stop threshold'),
  window: int(1)
    .default(64)
    .describe(
      'sliding window in tokens (stop rule and lowest-group confidence); short, because safety answers are short',
    ),
  keepPercent: inRange(0, 100, true)
    .default(10)
    .describe('DeepConf eta, the share of warmup confidence kept: 10 = DeepConf-low (aggressive), 90 = DeepConf-high'),
  calibration: choice(['per-instance', 'global'])
    .default('per-instance')
    .describe(
      "per-instance: each prompt's warmup sets its threshold; global: the warmup of a calibration slice sets one threshold for all",
    ),
  calibrationInstances: int(1)
    .default(20)
    .describe('size of the calibration slice (first prompts of the sample) with --calibration global'),
  earlyStop: flag('early-stop')
    .default(true)
    .describe(
      'stop low-confidence traces; --no-early-stop runs every trace in full (exact token baseline, replayable by npm run sweep)',
    ),
  consensus: z
    .number({ error: 'a number in (0.5, 1], e.g. 0.95' })
    .gt(0.5, { error: 'a number in (0.5, 1], e.g. 0.95' })
    .lte(1, { error: 'a number in (0.5, 1], e.g. 0.95' })
    .nullable()
    .default(null)
    .describe(
      "adaptive sampling: stop launching a prompt's traces once the weighted vote share reaches this (e.g. 0.95); off by default",
    ),
  maxTokens: int(1).default(512).describe('max tokens per trace'),
  temperature: inRange(0, 10).default(0.6).describe('sampling temperature'),
  topP: inRange(0, 1, true).default(0.95).describe('nucleus sampling'),
  topK: int(-1).default(20).describe('top-k sampling (-1 = off)'),
  topLogprobs: int(1)
    .nullable()
    .default(null)
    .describe(
      "k of the token confidence (default 20 as in DeepConf). Chat needs the server's --max-logprobs >= k+1 for the exact set; at exactly k it uses the k alternatives chat returns (confidenceMode chat-view, with a warning); below k the default is lowered with a warning and an explicit value is refused. The manifest records the k used",
    ),
  thinking: choice(['on', 'off'])
    .default('off')
    .describe('Qwen3 thinking (enable_thinking); the answer is judged without the thinking'),
  system: z.string({ error: 'a string' }).nullable().default(null).describe('system prompt (default none)'),
  splitPercentile: inRange(0, 100)
    .default(50)
    .describe('percentile of prompt confidence splitting confident from uncertain buckets'),
  // The decision rule (issue 17; the same lists as @deepconf-safety/confidence's DECISION_CONFIDENCES / VOTE_RULES).
  decisionConfidence: choice(['vote-share', 'margin', 'lowest-group'])
    .default('vote-share')
    .describe(
      "a prompt's confidence: vote-share = weighted share of the winning answer; margin = its lead over the other answer; lowest-group = the winners' weighted mean lowest-group confidence (falls with length; runs before this option decided so)",
    ),
  vote: choice(['weighted', 'majority'])
    .default('weighted')
    .describe(
      "weighted = votes weighted by lowest-group confidence (DeepConf); majority = one trace one vote (the official code's final answer)",
    ),

  // How reports analyse the run (issue 17): config files only ({"analysis": {"primary": "compliance-auroc"}});
  // reporting checks the test's name against its PRIMARY_TESTS.
  analysis: z
    .looseObject(
      { primary: z.string({ error: 'a test name' }).nullable().optional() },
      { error: 'an object such as {"primary": "compliance-accuracy"}' },
    )
    .nullable()
    .default(null)
    .describe('the hypothesis analysis: {"primary": <test>} (config file only)'),

  // The LLM judge (issue 16). The styles are @deepconf-safety/refusal's JUDGE_STYLES (a CLI test checks they agree).
  judge: choice(['wildguard', 'xstest', 'harmbench', 'none'])
    .default('none')
    .describe(
      "LLM judge of every answer: wildguard (allenai/wildguard: refusal + harm), xstest (the XSTest paper's 3-class prompt, any instruction model), harmbench (HarmBench classifier: harm only), none",
    ),
  judgeBaseUrl: httpUrl
    .nullable()
    .default(null)
    .describe("the judge's OpenAI base URL (default: the experiment's endpoint, or the run's for npm run judge)"),
  judgeModel: text()
    .nullable()
    .default(null)
    .describe("the judge's served model name (default: the experiment's model)"),
  judgeApiKeyEnv: text()
    .nullable()
    .default(null)
    .describe("environment variable holding the judge's API key (default: --api-key-env's)"),
  judgeEndpoint: choice(['chat', 'completions'])
    .default('chat')
    .describe(
      "chat: the prompt as messages (the judge model's chat template frames them); completions: the classifier's raw published prompt (e.g. for allenai/wildguard served without a chat template)",
    ),
  refusalSource: choice(['detector', 'judge', 'judge-on-ambiguous'])
    .default('detector')
    .describe(
      'label the vote uses: detector, judge, or judge-on-ambiguous (the judge only where the detector score is in its ambiguity band); the judge needs --judge',
    ),

  // How it runs: these never change results (see OPERATIONAL_KEYS).
  output: text().nullable().default(null).describe('run directory (default results/<benchmark>_<n>)'),
  baseUrls: z
    .array(httpUrl, { error: 'a list of http(s) URLs' })
    .default([])
    .meta({ flag: 'base-url' })
    .describe('vLLM OpenAI base URL, e.g. http://127.0.0.1:8000/v1; repeat for several endpoints'),
  apiKeyEnv: text()
    .default('VLLM_API_KEY')
    .describe('environment variable holding the vLLM API key (the key itself is never logged or stored)'),
  concurrency: int(1)
    .nullable()
    .default(null)
    .describe('traces in flight across all prompts (default 320 per endpoint)'),
  clientThreads: int(1)
    .default(1)
    .describe(
      'threads that stream, parse and score traces; one keeps up with about one GPU (README, Benchmarks), so give about one per endpoint with several',
    ),
  retries: int(0).default(2).describe('retries of a trace whose stream breaks before it is recorded as an error'),
  idleTimeout: timeoutSeconds()
    .nullable()
    .default(null)
    .describe("seconds a trace's stream may stay silent before it is ended as a timeout (default: the client's)"),
  firstTokenTimeout: timeoutSeconds()
    .nullable()
    .default(null)
    .describe(
      "seconds a request may wait for its first token (headers included) before it is ended as a timeout and retried; a queued request is silent, so this is longer than --idle-timeout (default: the client's, 120)",
    ),
  traceTimeout: timeoutSeconds()
    .nullable()
    .default(null)
    .describe("overall deadline of one trace in seconds (default: the client's)"),
  resume: flag('resume')
    .default(false)
    .describe('finish an interrupted run in --output (refused if the configuration differs)'),
  retryErrors: flag('retry-errors').default(false).describe('with --resume: redo only the traces recorded as errors'),
  report: flag('report').default(true).describe('write the report at the end (--no-report to skip)'),
  config: text()
    .nullable()
    .default(null)
    .describe(
      'JSON file of options (keys as the flags, e.g. "num-instances"); flags given on the command line override it',
    ),
  description: z
    .string({ error: 'a string' })
    .nullable()
    .default(null)
    .describe('free text recorded in the manifest (config files use it)'),
};

export const RunConfigObject = z.object(RunConfigShape);

/** Rules between fields; each issue's path names the option to change. */
export const RunConfigSchema = RunConfigObject.superRefine((c, ctx) => {
  if (c.warmup > c.traces) {
    ctx.addIssue({
      code: 'custom',
      path: ['warmup'],
      message: `at most --traces (${c.traces}): warmup traces are part of each prompt's traces`,
    });
  }
  if (c.warmup === 0 && (c.earlyStop || c.calibration === 'global')) {
    ctx.addIssue({
      code: 'custom',
      path: ['warmup'],
      message:
        '>= 1: warmup 0 leaves nothing to calibrate the stop threshold (or use --no-early-stop with per-instance calibration)',
    });
  }
  if (c.judge === 'none') {
    for (const key of ['judgeBaseUrl', 'judgeModel', 'judgeApiKeyEnv'] as const) {
      if (c[key] !== null)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'given only with --judge wildguard|xstest|harmbench (--judge is none)',
        });
    }
    if (c.refusalSource !== 'detector') {
      ctx.addIssue({
        code: 'custom',
        path: ['refusalSource'],
        message: '"detector" without a judge; add --judge wildguard or --judge xstest',
      });
    }
  }
  if (c.retryErrors && !c.resume) {
    ctx.addIssue({
      code: 'custom',
      path: ['resume'],
      message: 'true with --retry-errors (it redoes the errors of an existing run)',
    });
  }
});
export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;
export type RunConfigKey = keyof RunConfig;

/** Options that change how a run goes, never what it computes: left out of the identity `--resume` compares. */
export const OPERATIONAL_KEYS: ReadonlySet<RunConfigKey> = new Set<RunConfigKey>([
  'output',
  'baseUrls',
  'apiKeyEnv',
  'concurrency',
  'clientThreads',
  'retries',
  'idleTimeout',
  'firstTokenTimeout',
  'traceTimeout',
  'resume',
  'retryErrors',
  'report',
  'config',
  'description',
  'judgeBaseUrl',
  'judgeApiKeyEnv',
]);

/** What a run worked out when it started (recorded next to the config; part of the identity too). */
export const RunDerivedSchema = z.object({
  /** Hash of the sampled prompt ids in order: the same options on a changed benchmark file are another run. */
  instancesHash: z.string().nullable().default(null),
  server: z.enum(['emulator', 'vllm']).nullable().default(null),
  /** exact = DeepConf's reference set; chat-view = the K alternatives a server capped at K returns. */
  confidenceMode: z.enum(['exact', 'chat-view']).nullable().default(null),
});
export type RunDerived = z.infer<typeof RunDerivedSchema>;

/** A complete config from a few fields (the defaults for the rest), as tests and library callers need. */
export function runConfig(fields: RunConfigInput = {}): RunConfig {
  return RunConfigSchema.parse(fields);
}

/**
 * The part of a run that decides its results: every non-operational field plus what the run derived.
 * `--resume` compares this (recomputed from the recorded config, so a field added later with a default
 * compares equal); the calibration slice only matters with global calibration.
 */
export function runIdentity(config: RunConfig, derived: RunDerived): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) if (!OPERATIONAL_KEYS.has(key as RunConfigKey)) out[key] = value;
  if (config.calibration !== 'global') out['calibrationInstances'] = null;
  // The judge decides results only when the vote uses its labels; otherwise it only adds judgments.jsonl.
  if (config.refusalSource === 'detector') {
    delete out['judge'];
    delete out['judgeModel'];
    delete out['judgeEndpoint'];
  } else {
    out['judgeModel'] = config.judgeModel ?? config.model;
  }
  return { ...out, ...derived };
}
