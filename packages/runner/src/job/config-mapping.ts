import { createHash } from 'node:crypto';
import { basename, extname, join } from 'node:path';
import type { loadBenchmark } from '@deepconf-safety/datasets';
import { parseLabelMap, redactUrl, urlSecrets, type RunConfig, type RunDerived } from '@deepconf-safety/run-store';
import type { RunSettings } from '../experiment/settings.js';

// The one typed RunConfig to what each part of a run takes: pure, so each mapping is read (and tested) on its own.

/** The run directory when --output is not given: results/<benchmark>_<n>. */
export function defaultOutput(benchmark: string, instances: number): string {
  const name =
    benchmark.includes('/') || benchmark.includes('\\') || extname(benchmark) !== ''
      ? basename(benchmark, extname(benchmark))
      : benchmark;
  return join('results', `${name.replace(/[^A-Za-z0-9._-]+/g, '_').toLowerCase()}_${instances}`);
}

/** The datasets loader's options for the benchmark flags. */
export function loadOptions(o: RunConfig): Parameters<typeof loadBenchmark>[1] {
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

/** --idle-timeout / --first-token-timeout / --trace-timeout (seconds) as the client's options; unset keeps its defaults. */
export function clientTimeouts(o: RunConfig): {
  idleTimeoutMs?: number;
  firstTokenTimeoutMs?: number;
  traceTimeoutMs?: number;
} {
  return {
    ...(o.idleTimeout === null ? {} : { idleTimeoutMs: Math.round(o.idleTimeout * 1000) }),
    ...(o.firstTokenTimeout === null ? {} : { firstTokenTimeoutMs: Math.round(o.firstTokenTimeout * 1000) }),
    ...(o.traceTimeout === null ? {} : { traceTimeoutMs: Math.round(o.traceTimeout * 1000) }),
  };
}

/** What the runner's loop takes of the config, with the K the server allowed. */
export function runSettings(o: RunConfig, topLogprobs: number): RunSettings {
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
      topLogprobs,
      thinking: o.thinking === 'on',
      ...(o.system === null ? {} : { system: o.system }),
    },
  };
}

/** The config as the manifest records it: what the run used (sample size and k resolved), URLs without secrets. */
export function recordedConfig(
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

export function derivedOf(
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

/** The key of --api-key-env, and every secret nothing printed or stored may show (a key may sit in a --base-url). */
export function runSecrets(
  o: RunConfig,
  env: Readonly<Record<string, string | undefined>>,
): { apiKey: string | undefined; secrets: string[] } {
  const apiKey = env[o.apiKeyEnv] || undefined;
  const urls = [...o.baseUrls, ...(o.judgeBaseUrl === null ? [] : [o.judgeBaseUrl])];
  return { apiKey, secrets: [...(apiKey ? [apiKey] : []), ...urlSecrets(urls)] };
}

/** The command that continues this run. */
export const resumeCommand = (o: RunConfig, output: string): string =>
  `npm run experiment -- ${o.config ? `--config ${o.config} ` : ''}--output ${output} --resume`;
