import type { Manifest } from '@deepconf-safety/run-store';
import type { ServerProbe, TopKMode } from '@deepconf-safety/vllm-client';
import { RunnerConfigError } from '../errors.js';

/** Where the traces go, and what to say about it (the CLI chooses: --base-url, a deployment, or an emulator). */
export interface ServerChoice {
  baseUrls: string[];
  origin: 'flag' | 'deployment' | 'emulator';
  /** Closes what this process started (the in-process emulator). */
  close(): Promise<void>;
  /** Cost so far of the recorded deployments (null unless origin is 'deployment'). */
  cost(now: Date): Promise<Manifest['cost'] | null>;
}

export function emulatorBanner(baseUrl: string, reason: string): string {
  const line = '='.repeat(78);
  return [
    line,
    'EMULATED RUN: these results come from the built-in vLLM emulator, not from a model.',
    `  ${reason}`,
    `  Emulator: ${baseUrl}. manifest.json and results.json are marked "emulated": true.`,
    '  For real results pass --base-url http://HOST:PORT/v1 or deploy with npm run deploy:lambda.',
    line,
  ].join('\n');
}

/** How token confidence will be computed in this run; recorded in the run config. */
export interface ConfidencePlan {
  /** K actually used. */
  topLogprobs: number;
  /**
   * `exact`: DeepConf's reference set (chat requests K+1 alternatives; completions always gets the set itself).
   * `chat-view`: the K alternatives chat returns for top_logprobs = K (differs only when the sampled token ranks below K).
   */
  confidenceMode: TopKMode;
  /** One line for stderr when the run departs from DeepConf's exact top-K definition, else null. */
  warning: string | null;
}

/**
 * The smallest `top_logprobs` limit the healthy endpoints reported, or null when none is known. `probed` is the value
 * the probe asked for: a server that accepted it reports it back, which is only a lower bound, not a limit.
 */
export function serverLogprobsLimit(probe: readonly ServerProbe[], probed: number): number | null {
  const limits = probe.flatMap((p) =>
    !p.healthy || p.maxTopLogprobs === null || p.maxTopLogprobs >= probed ? [] : [p.maxTopLogprobs],
  );
  return limits.length > 0 ? Math.min(...limits) : null;
}

/**
 * Chooses K and the confidence mode from the server's `top_logprobs` limit. Chat: `exact` when the server allows K+1,
 * `chat-view` at K when it allows exactly K (stock vLLM's --max-logprobs 20 at DeepConf's K = 20), and only below
 * that a smaller K (chat-view) when --top-logprobs was not given; an explicit --top-logprobs the server cannot serve
 * is refused. Completions needs K (its dict is the reference set). `serverMax` null = no known limit.
 *
 * @throws RunnerConfigError naming --top-logprobs and vLLM's --max-logprobs (a usage error: exit 2).
 */
export function planConfidence(options: {
  endpoint: 'chat' | 'completions';
  requested: number | null;
  defaultK: number;
  serverMax: number | null;
}): ConfidencePlan {
  const k = options.requested ?? options.defaultK;
  const max = options.serverMax;
  const exactNeeds = options.endpoint === 'chat' ? k + 1 : k;
  if (max === null || max >= exactNeeds) return { topLogprobs: k, confidenceMode: 'exact', warning: null };
  const fix = `start vLLM with --max-logprobs ${exactNeeds}`;
  if (max < 1) {
    throw new RunnerConfigError(
      `--top-logprobs ${k}`,
      `the server accepts no logprobs (vLLM --max-logprobs ${max}), and token confidence needs them; ${fix}`,
    );
  }
  if (options.endpoint === 'completions') {
    if (options.requested !== null) {
      throw new RunnerConfigError(
        `--top-logprobs ${k}`,
        `the server accepts at most ${max} logprobs and completions needs ${k}; ${fix}, or pass --top-logprobs ${max}`,
      );
    }
    return {
      topLogprobs: max,
      confidenceMode: 'exact',
      warning: `warning: the server accepts at most ${max} logprobs, so token confidence uses the top ${max} instead of DeepConf's ${k}. For the exact DeepConf definition ${fix}.`,
    };
  }
  if (max === k) {
    return {
      topLogprobs: k,
      confidenceMode: 'chat-view',
      warning:
        `warning: the server accepts at most ${max} top_logprobs, one short of the ${k + 1} that the exact DeepConf top-${k} confidence needs over chat, ` +
        `so confidence averages the ${k} alternatives chat returns (confidenceMode "chat-view": identical whenever the sampled token ranks in the top ${k}, ` +
        `otherwise the ${k}th largest value is missing). For the exact definition ${fix}.`,
    };
  }
  if (options.requested !== null) {
    throw new RunnerConfigError(
      `--top-logprobs ${k}`,
      `the server accepts at most ${max} top_logprobs; chat needs ${k + 1} for the exact top-${k} confidence, or ${k} for the chat view. ${fix[0]?.toUpperCase()}${fix.slice(1)}, or pass --top-logprobs ${max}`,
    );
  }
  return {
    topLogprobs: max,
    confidenceMode: 'chat-view',
    warning:
      `warning: the server accepts at most ${max} top_logprobs, so token confidence uses the top ${max} (confidenceMode "chat-view") instead of DeepConf's ${k}. ` +
      `For the exact DeepConf definition ${fix}.`,
  };
}
