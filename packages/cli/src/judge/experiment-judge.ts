import { JudgmentStore } from '@deepconf-safety/run-store';
import { createTraceJudge, type RefusalSource, type TraceJudge } from '@deepconf-safety/runner';
import type { JudgeStyle } from '@deepconf-safety/refusal';
import { connectJudge, type ConnectedJudge, type JudgeFlags } from './judge-flags.js';

/** The experiment's judge: connected before the run starts, attached to its directory once the store exists. */
export interface ExperimentJudge {
  connected: ConnectedJudge;
  /** For the manifest (never the key). */
  manifest: ConnectedJudge['manifest'] & { refusalSource: RefusalSource };
  /** The judge's key, to redact. */
  secrets: string[];
  /** Opens `judgments.jsonl` in the run directory (the cache) and returns the runner's judge. */
  attach(dir: string, secrets: readonly string[]): TraceJudge;
  close(): void;
}

/** Results change with the vote's label source: it is part of the config hash only when it is not the detector. */
export function judgeResultConfig(
  judge: JudgeFlags,
  refusalSource: RefusalSource,
  model: string,
): Record<string, unknown> {
  return refusalSource === 'detector' ? {} : { refusalSource, judge: judge.style, judgeModel: judge.model ?? model };
}

export async function startExperimentJudge(
  flags: JudgeFlags,
  refusalSource: RefusalSource,
  defaults: { baseUrl: string; model: string; apiKeyEnv: string; emulated: boolean },
  env: Readonly<Record<string, string | undefined>>,
): Promise<ExperimentJudge | null> {
  if (flags.style === null) return null;
  const connected = await connectJudge({ ...flags, style: flags.style as JudgeStyle }, defaults, env);
  let store: JudgmentStore | null = null;
  return {
    connected,
    manifest: { ...connected.manifest, refusalSource },
    secrets: connected.apiKey ? [connected.apiKey] : [],
    attach(dir, secrets) {
      store = JudgmentStore.open(dir, { write: true });
      return createTraceJudge({ ...connected.identity, client: connected.client, store, refusalSource, secrets });
    },
    close() {
      store?.close();
      store = null;
    },
  };
}

export const judgeBanner = (j: ExperimentJudge): string =>
  `judge: ${j.manifest.style} (${j.manifest.model}) at ${j.manifest.baseUrl} via ${j.manifest.endpoint}${j.manifest.emulated ? ' [EMULATED judge]' : ''}; the vote uses the ${j.manifest.refusalSource === 'detector' ? "detector's label" : j.manifest.refusalSource === 'judge' ? "judge's label" : "judge's label where the detector is ambiguous"}`;
