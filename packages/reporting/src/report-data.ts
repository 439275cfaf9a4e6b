import {
  assignBucket,
  redactUrl,
  type BucketName,
  type InstanceRecord,
  type JudgmentRecord,
  type TraceFields,
} from '@deepconf-safety/run-store';
import type { RunData } from './run-data.js';

const SECRET_KEY = /key|token|secret|password|auth|credential/i;

/** The config as shown in reports: secret-looking keys are masked in case a caller ever stored one. */
export function displayConfig(config: Record<string, unknown>): Array<[string, string]> {
  return Object.keys(config)
    .sort()
    .map((k) => {
      // The CLI stores URLs redacted already; a store written by another tool may not have.
      const v =
        k === 'baseUrls' && Array.isArray(config[k])
          ? (config[k] as unknown[]).map((u) => redactUrl(String(u)))
          : config[k];
      if (SECRET_KEY.test(k) && !/tokens|env$/i.test(k) && v !== null && v !== undefined && v !== '')
        return [k, '[redacted]'];
      return [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined')];
    });
}

export interface FailureRow {
  bucket: BucketName;
  instanceId: string;
  category: string;
  confidence: number;
  shouldRefuse: boolean | null;
  decision: 'refuse' | 'comply';
  /** The prompt and the answer shown, in full (renderers shorten them for display). */
  prompt: string;
  /** The most confident trace that voted for the decision (falls back to any trace with that decision). */
  answer: string;
  /** Trace index of the answer shown, or null when no trace with the decision was recorded. */
  traceIndex: number | null;
  /** The refusal detector's label of that trace. */
  detectorLabel: string | null;
  /** What an LLM judge said about that trace (one entry per judge style and model); empty without a judge. */
  judge: Array<{ style: string; model: string; label: string | null; harmful: boolean | null }>;
  voteShare: number | null;
}

export const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}…` : s);

/** Buckets in the order the error analysis reads them: the hypothesis' own bucket first. */
export const ERROR_BUCKETS: readonly BucketName[] = [
  'uncertain_compliance',
  'confident_compliance',
  'uncertain_refusal',
  'confident_refusal',
];

/**
 * The answer the error analysis shows for a decided prompt: the most confident trace that voted for the decision,
 * else any trace with that decision (the label the vote used: the judge's under --refusal-source judge, else the
 * detector's); undefined when no trace with the decision was recorded.
 */
export function shownAnswer<T extends TraceFields>(instance: InstanceRecord, traces: readonly T[]): T | undefined {
  const refuse = instance.decision === 'refuse';
  const same = traces.filter((t) => t.refusal !== null && (t.voteLabel?.refused ?? t.refusal.refused) === refuse);
  return same.sort(
    (a, b) => Number(b.voted) - Number(a.voted) || (b.lowestGroup ?? -Infinity) - (a.lowestGroup ?? -Infinity),
  )[0];
}

/**
 * Every wrong decision, grouped by bucket (uncertain compliance first) and least confident first within a
 * bucket: the rows of the error analysis and of failures.csv.
 */
export function errorAnalysisRows(
  run: RunData,
  splitConfidence: number | null,
  judgments: readonly JudgmentRecord[] = [],
): FailureRow[] {
  const byInstance = new Map<string, readonly TraceFields[]>(run.prompts.map((p) => [p.instance.instanceId, p.traces]));
  const judged = new Map<string, JudgmentRecord[]>();
  for (const j of judgments)
    judged.set(`${j.instanceId}#${j.traceIndex}`, [...(judged.get(`${j.instanceId}#${j.traceIndex}`) ?? []), j]);
  const rows = run.instances.flatMap((i) => {
    const bucket = assignBucket(i.decision, i.confidence, splitConfidence);
    if (i.correct !== false || bucket === null || i.confidence === null || i.decision === null) return [];
    const refuse = i.decision === 'refuse';
    const best = shownAnswer(i, byInstance.get(i.instanceId) ?? []);
    const row: FailureRow = {
      bucket,
      instanceId: i.instanceId,
      category: i.category,
      confidence: i.confidence,
      shouldRefuse: i.shouldRefuse,
      decision: i.decision,
      prompt: i.prompt,
      answer: best ? best.text : `(no ${refuse ? 'refusing' : 'complying'} trace recorded)`,
      traceIndex: best ? best.traceIndex : null,
      detectorLabel: best?.refusal?.label ?? null,
      judge: best
        ? (judged.get(`${i.instanceId}#${best.traceIndex}`) ?? []).map((j) => ({
            style: j.style,
            model: j.model,
            label: j.label,
            harmful: j.harmful,
          }))
        : [],
      voteShare: i.voteShare,
    };
    return [row];
  });
  return rows.sort(
    (a, b) => ERROR_BUCKETS.indexOf(a.bucket) - ERROR_BUCKETS.indexOf(b.bucket) || a.confidence - b.confidence,
  );
}

/** Uncertain compliance that was wrong: the failures the hypothesis is about. */
export function uncertainComplianceFailures(run: RunData, splitConfidence: number | null): FailureRow[] {
  return errorAnalysisRows(run, splitConfidence).filter((r) => r.bucket === 'uncertain_compliance');
}
