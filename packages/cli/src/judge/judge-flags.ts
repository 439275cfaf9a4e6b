import { JUDGE_CAPABILITIES, JUDGE_STYLES, type JudgeStyle } from '@deepconf-safety/refusal';
import {
  REFUSAL_SOURCES,
  createJudgeClient,
  judgeEndpointEmulated,
  type JudgeClient,
  type JudgeIdentity,
  type RefusalSource,
} from '@deepconf-safety/runner';
import { redactUrl } from '@deepconf-safety/run-store';
import { OptionError } from '../experiment/options.js';

/** The judge flags shared by `npm run experiment` and `npm run judge`. */
export interface JudgeFlags {
  style: JudgeStyle | null;
  baseUrl: string | null;
  model: string | null;
  apiKeyEnv: string | null;
  endpoint: 'chat' | 'completions';
  /** Judge requests in flight at once (`npm run judge`; the experiment's judge calls share its trace concurrency). */
  concurrency: number;
}

/** yargs option specs, spread into a parser with `.options(JUDGE_OPTIONS)`. */
export const JUDGE_OPTIONS = {
  judge: {
    choices: [...JUDGE_STYLES, 'none'],
    default: 'none',
    describe:
      "LLM judge of every answer: wildguard (allenai/wildguard: refusal + harm), xstest (the XSTest paper's 3-class prompt, any instruction model), harmbench (HarmBench classifier: harm only), none",
  },
  'judge-base-url': {
    type: 'string',
    describe: "the judge's OpenAI base URL (default: the experiment's endpoint, or the run's for npm run judge)",
  },
  'judge-model': { type: 'string', describe: "the judge's served model name (default: the experiment's model)" },
  'judge-api-key-env': {
    type: 'string',
    describe: "environment variable holding the judge's API key (default: --api-key-env's)",
  },
  'judge-endpoint': {
    choices: ['chat', 'completions'],
    default: 'chat',
    describe:
      "chat: the prompt as messages (the judge model's chat template frames them); completions: the classifier's raw published prompt (e.g. for allenai/wildguard served without a chat template)",
  },
} as const;

export const JUDGE_CONCURRENCY_OPTION = {
  'judge-concurrency': { type: 'number', default: 32, describe: 'judge requests in flight at once' },
} as const;

export const REFUSAL_SOURCE_OPTION = {
  'refusal-source': {
    choices: [...REFUSAL_SOURCES],
    default: 'detector',
    describe:
      'label the vote uses: detector, judge, or judge-on-ambiguous (the judge only where the detector score is in its ambiguity band); the judge needs --judge',
  },
} as const;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function httpUrl(flag: string, v: string | null): string | null {
  if (v === null) return null;
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new OptionError(
      `--${flag} ${v}: not an http(s) URL; pass the judge server's OpenAI base, e.g. http://127.0.0.1:8001/v1`,
    );
  return v;
}

export function readJudgeFlags(raw: Record<string, unknown>): JudgeFlags {
  const style = raw['judge'] === undefined || raw['judge'] === 'none' ? null : (raw['judge'] as JudgeStyle);
  const concurrency = raw['judge-concurrency'] ?? 32;
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new OptionError(
      `--judge-concurrency: must be an integer >= 1 (got ${JSON.stringify(raw['judge-concurrency'])})`,
    );
  }
  const flags: JudgeFlags = {
    style,
    baseUrl: httpUrl('judge-base-url', str(raw['judge-base-url'])),
    model: str(raw['judge-model']),
    apiKeyEnv: str(raw['judge-api-key-env']),
    endpoint: raw['judge-endpoint'] === 'completions' ? 'completions' : 'chat',
    concurrency,
  };
  if (style === null) {
    for (const flag of ['judge-base-url', 'judge-model', 'judge-api-key-env'] as const) {
      if (str(raw[flag]) !== null)
        throw new OptionError(`--${flag} is given but --judge is none; add --judge wildguard|xstest|harmbench`);
    }
  }
  return flags;
}

export function readRefusalSource(raw: Record<string, unknown>, style: JudgeStyle | null): RefusalSource {
  const source = (raw['refusal-source'] as RefusalSource | undefined) ?? 'detector';
  if (source !== 'detector' && style === null)
    throw new OptionError(`--refusal-source ${source} needs a judge; add --judge wildguard or --judge xstest`);
  if (source !== 'detector' && style !== null && !JUDGE_CAPABILITIES[style].refusal) {
    throw new OptionError(
      `--refusal-source ${source}: --judge ${style} rates harm, not refusal; use --judge wildguard or xstest, or --refusal-source detector`,
    );
  }
  return source;
}

export interface ConnectedJudge {
  identity: JudgeIdentity;
  client: JudgeClient;
  /** The endpoint as it may be printed: a key in its userinfo or query redacted (the client has the real one). */
  baseUrl: string;
  endpoint: 'chat' | 'completions';
  apiKey: string | undefined;
  /** What the manifest records (never the key). */
  manifest: {
    style: JudgeStyle;
    model: string;
    baseUrl: string;
    endpoint: 'chat' | 'completions';
    apiKeyEnv: string;
    emulated: boolean;
  };
}

/** Resolves the judge's endpoint, model and key, and asks the endpoint whether it is the emulator. */
export async function connectJudge(
  flags: JudgeFlags & { style: JudgeStyle },
  defaults: { baseUrl: string; model: string; apiKeyEnv: string; emulated?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): Promise<ConnectedJudge> {
  const baseUrl = flags.baseUrl ?? defaults.baseUrl;
  const model = flags.model ?? defaults.model;
  const apiKeyEnv = flags.apiKeyEnv ?? defaults.apiKeyEnv;
  const apiKey = env[apiKeyEnv] || undefined;
  const said = await judgeEndpointEmulated({ baseURL: baseUrl, ...(apiKey ? { apiKey } : {}) });
  const emulated = said ?? (flags.baseUrl === null && defaults.emulated === true);
  const client = createJudgeClient({
    baseURL: baseUrl,
    model,
    endpoint: flags.endpoint,
    ...(apiKey ? { apiKey } : {}),
  });
  return {
    identity: { style: flags.style, model, emulated },
    client,
    baseUrl: redactUrl(baseUrl),
    endpoint: flags.endpoint,
    apiKey,
    manifest: { style: flags.style, model, baseUrl: redactUrl(baseUrl), endpoint: flags.endpoint, apiKeyEnv, emulated },
  };
}
