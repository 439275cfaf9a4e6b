import type { DecisionConfidence, DecisionRule, VoteRule } from '@deepconf-safety/confidence';
import { RunnerConfigError } from '../errors.js';

/** One prompt to run (a `BenchmarkRecord` from `@deepconf-safety/datasets` fits). */
export interface InstanceInput {
  id: string;
  prompt: string;
  shouldRefuse: boolean | null;
  category: string;
  source: string;
}

/** Everything that decides a run's results (the CLI hashes it into the manifest). */
export interface RunSettings {
  /** Traces per prompt, warmup included. */
  traces: number;
  /** Warmup traces per prompt (per-instance calibration) or per calibration prompt (global calibration). */
  warmup: number;
  /** Sliding-window size in tokens for the stop rule and the lowest-group confidence. */
  window: number;
  /** DeepConf eta: share of warmup confidence to keep (10 = DeepConf-low, 90 = DeepConf-high). */
  keepPercent: number;
  /** `per-instance`: each prompt's own warmup sets its threshold; `global`: the warmup of the first `calibrationInstances` prompts sets one threshold for all. */
  calibration: 'per-instance' | 'global';
  /** Size of the calibration slice under global calibration. */
  calibrationInstances: number;
  /** False = baseline: every trace runs in full (the vote still uses the DeepConf rule, so a replay can compute any setting). */
  earlyStop: boolean;
  /** Adaptive sampling: stop launching a prompt's traces once the weighted vote reaches this share (null = off). */
  consensusTau: number | null;
  /** Run seed; each trace gets its own seed derived from it. */
  seed: number;
  /** Percentile of prompt confidence that splits confident from uncertain (results.json buckets). */
  splitPercentile: number;
  /** Definition of a prompt's decision confidence (default vote-share) and the vote (default weighted). */
  decisionConfidence?: DecisionConfidence;
  vote?: VoteRule;
  request: {
    maxTokens: number;
    temperature: number;
    topP: number;
    topK: number;
    topLogprobs: number;
    thinking: boolean;
    system?: string;
  };
}

/** The settings' decision rule, leaving unset fields to the policy's defaults. */
export const decisionRule = (s: Pick<RunSettings, 'decisionConfidence' | 'vote'>): DecisionRule => ({
  ...(s.decisionConfidence === undefined ? {} : { decisionConfidence: s.decisionConfidence }),
  ...(s.vote === undefined ? {} : { vote: s.vote }),
});

export function validateSettings(s: RunSettings): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RunnerConfigError(name, `must be an integer >= ${min} (got ${v})`);
  };
  int('--traces', s.traces, 1);
  int('--warmup', s.warmup, 0);
  int('--window', s.window, 1);
  int('--calibration-instances', s.calibrationInstances, 1);
  if (s.warmup > s.traces)
    throw new RunnerConfigError('--warmup', `cannot exceed --traces (${s.warmup} > ${s.traces})`);
  if (s.calibration === 'per-instance' && s.earlyStop && s.warmup === 0) {
    throw new RunnerConfigError(
      '--warmup',
      'must be at least 1 with per-instance calibration: the warmup traces set the stop threshold',
    );
  }
  if (s.calibration === 'global' && s.warmup === 0)
    throw new RunnerConfigError('--warmup', 'must be at least 1 with global calibration');
  if (!(s.keepPercent > 0 && s.keepPercent <= 100))
    throw new RunnerConfigError('--keep-percent', `must be in (0, 100] (got ${s.keepPercent})`);
  if (s.consensusTau !== null && !(s.consensusTau > 0.5 && s.consensusTau <= 1)) {
    throw new RunnerConfigError('--consensus', `must be in (0.5, 1] (got ${s.consensusTau})`);
  }
  if (!(s.splitPercentile >= 0 && s.splitPercentile <= 100))
    throw new RunnerConfigError('--split-percentile', `must be in [0, 100] (got ${s.splitPercentile})`);
}

/** Instance ids key the store: two prompts with one id would overwrite each other's records. */
export function uniqueInstanceIds(instances: readonly InstanceInput[]): Set<string> {
  const ids = new Set<string>();
  for (const inst of instances) {
    if (ids.has(inst.id))
      throw new RunnerConfigError('instances', `duplicate instance id ${JSON.stringify(inst.id)}; ids must be unique`);
    ids.add(inst.id);
  }
  return ids;
}
