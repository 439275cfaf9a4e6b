import type { InstanceRecord, StoredTrace } from '@deepconf-safety/run-store';
import { assignBucket, redactUrl } from '@deepconf-safety/run-store';
import type { RunData } from './run-data.js';

const SECRET_KEY = /key|token|secret|password|auth|credential/i;

/** The config as shown in reports: secret-looking keys are masked in case a caller ever stored one. */
export function displayConfig(config: Record<string, unknown>): Array<[string, string]> {
  return Object.keys(config)
    .sort()
    .map((k) => {
      // The CLI stores URLs redacted already; a store written by another tool may not have.
      const v = k === 'baseUrls' && Array.isArray(config[k]) ? (config[k] as unknown[]).map((u) => redactUrl(String(u))) : config[k];
      if (SECRET_KEY.test(k) && !/tokens|env$/i.test(k) && v !== null && v !== undefined && v !== '') return [k, '[redacted]'];
      return [k, typeof v === 'string' ? v : JSON.stringify(v) ?? 'undefined'];
    });
}

export interface FailureRow {
  instanceId: string;
  category: string;
  confidence: number;
  shouldRefuse: boolean | null;
  prompt: string;
  /** The most confident complying answer that voted (falls back to any complying trace). */
  answer: string;
  voteShare: number | null;
}

const MAX_TEXT = 1200;
export const clip = (s: string, max = MAX_TEXT): string => (s.length > max ? `${s.slice(0, max)}… [${s.length - max} more characters]` : s);

/** Uncertain compliance that was wrong: the failures the hypothesis is about, for the error-analysis table. */
export function uncertainComplianceFailures(run: RunData, splitConfidence: number | null): FailureRow[] {
  const byInstance = new Map<string, readonly StoredTrace[]>(run.prompts.map((p) => [p.instance.instanceId, p.traces]));
  return run.instances
    .filter((i): i is InstanceRecord & { confidence: number } => i.correct === false && assignBucket(i.decision, i.confidence, splitConfidence) === 'uncertain_compliance')
    .sort((a, b) => a.confidence - b.confidence)
    .map((i) => {
      const complying = (byInstance.get(i.instanceId) ?? []).filter((t) => t.refusal !== null && !(t.voteLabel?.refused ?? t.refusal.refused));
      const best = [...complying].sort((a, b) => Number(b.voted) - Number(a.voted) || (b.lowestGroup ?? -Infinity) - (a.lowestGroup ?? -Infinity))[0];
      return {
        instanceId: i.instanceId,
        category: i.category,
        confidence: i.confidence,
        shouldRefuse: i.shouldRefuse,
        prompt: clip(i.prompt),
        answer: best ? clip(best.text) : '(no complying trace recorded)',
        voteShare: i.voteShare,
      };
    });
}
