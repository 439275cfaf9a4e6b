import {
  RUN_STORE_SCHEMA_VERSION,
  assignBucket,
  percentile,
  type BucketName,
  type InstanceRecord,
  type Results,
  type TraceRecord,
} from '@deepconf-safety/run-store';

const BUCKETS: readonly BucketName[] = [
  'confident_refusal',
  'uncertain_refusal',
  'confident_compliance',
  'uncertain_compliance',
];

const savings = (tokens: number, baseline: number): number | null =>
  baseline > 0 ? 100 * (1 - tokens / baseline) : null;

function accuracyOf(records: readonly InstanceRecord[]): {
  labelled: number;
  correct: number;
  accuracy: number | null;
} {
  const labelled = records.filter((r) => r.correct !== null);
  const correct = labelled.filter((r) => r.correct === true).length;
  return { labelled: labelled.length, correct, accuracy: labelled.length > 0 ? correct / labelled.length : null };
}

/** Final traces that did not fail, and how many of them stopped early: the early-stop rate's fraction. */
export interface FinalTally {
  finalTraces: number;
  finalEarlyStopped: number;
}

/** The final-trace tally of some traces (warmups never stop, so counting them would dilute the rate). */
export function finalTally(traces: Iterable<Pick<TraceRecord, 'phase' | 'stopReason'>>): FinalTally {
  let finalTraces = 0;
  let finalEarlyStopped = 0;
  for (const t of traces) {
    if (t.phase !== 'final' || t.stopReason === 'error') continue;
    finalTraces++;
    if (t.stopReason === 'early_stopped') finalEarlyStopped++;
  }
  return { finalTraces, finalEarlyStopped };
}

/**
 * results.json from the finished instance records (the latest record per instance, as on disk), so a resumed
 * run summarises exactly like an uninterrupted one. Accuracy counts prompts with a label and a decision.
 * `early_stop_rate` is early-stopped final traces over final traces that did not fail: warmup traces can never
 * stop, so counting them would dilute the rate (the report uses the same definition).
 */
export function summarizeRun(
  completionOrder: readonly InstanceRecord[],
  options: {
    emulated: boolean;
    splitPercentile: number;
    /** The run's traces (latest record per trace); only those of `records`' prompts count towards the early-stop rate. */
    traces: ReadonlyArray<Pick<TraceRecord, 'instanceId' | 'phase' | 'stopReason'>>;
  },
): Results {
  const ids = new Set(completionOrder.map((r) => r.instanceId));
  const finals = finalTally(options.traces.filter((t) => ids.has(t.instanceId)));
  return summarizeRecords(completionOrder, {
    emulated: options.emulated,
    splitPercentile: options.splitPercentile,
    finals,
  });
}

/** {@link summarizeRun} with the final traces already counted (the runner tallies them as prompts finish). */
export function summarizeRecords(
  completionOrder: readonly InstanceRecord[],
  options: { emulated: boolean; splitPercentile: number; finals: FinalTally },
): Results {
  // Prompts finish in whatever order the queue ran them (and a resumed run in yet another): summing in id order
  // makes results.json identical to the last bit however the run went.
  const records = [...completionOrder].sort((a, b) =>
    a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0,
  );
  const total = records.reduce((a, r) => a + r.tokens, 0);
  const baseline = records.reduce((a, r) => a + r.baselineTokens, 0);
  const traces = records.reduce((a, r) => a + r.traces, 0);
  const stopped = records.reduce((a, r) => a + r.earlyStopped, 0);
  const { finalTraces, finalEarlyStopped } = options.finals;
  const confidences = records.flatMap((r) => (r.decision !== null && r.confidence !== null ? [r.confidence] : []));
  const splitConfidence = percentile(confidences, options.splitPercentile);

  const bucketOf = new Map<BucketName, InstanceRecord[]>(BUCKETS.map((b) => [b, []]));
  // Each prompt's bucket: the split is known only once the run is complete, so it lives here, not in instances.jsonl.
  const instanceBuckets: Record<string, BucketName | null> = {};
  for (const r of records) {
    const b = assignBucket(r.decision, r.confidence, splitConfidence);
    instanceBuckets[r.instanceId] = b;
    if (b !== null) bucketOf.get(b)?.push(r);
  }
  const bucketSummary = (b: BucketName) => {
    const rs = bucketOf.get(b) ?? [];
    const acc = accuracyOf(rs);
    return { count: rs.length, correct: acc.correct, labelled: acc.labelled, accuracy: acc.accuracy };
  };

  const categories = new Map<string, InstanceRecord[]>();
  for (const r of records) categories.set(r.category, [...(categories.get(r.category) ?? []), r]);
  const per_category: Results['per_category'] = {};
  for (const [category, rs] of [...categories].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const t = rs.reduce((a, r) => a + r.tokens, 0);
    const bl = rs.reduce((a, r) => a + r.baselineTokens, 0);
    per_category[category] = {
      instances: rs.length,
      accuracy: accuracyOf(rs).accuracy,
      total_tokens: t,
      baseline_tokens: bl,
      token_savings_percent: savings(t, bl),
    };
  }

  return {
    schemaVersion: RUN_STORE_SCHEMA_VERSION,
    emulated: options.emulated,
    overall: {
      instances: records.length,
      decided: records.filter((r) => r.decision !== null).length,
      total_tokens: total,
      baseline_tokens: baseline,
      baseline_estimated: records.some((r) => r.baselineEstimated),
      token_savings_percent: savings(total, baseline),
      avg_tokens_per_instance: records.length > 0 ? total / records.length : null,
      accuracy: accuracyOf(records).accuracy,
      early_stop_rate: finalTraces > 0 ? finalEarlyStopped / finalTraces : null,
      errors: records.reduce((a, r) => a + r.errors, 0),
      traces,
      early_stopped: stopped,
      /** Denominator of early_stop_rate. */
      final_traces: finalTraces,
    },
    buckets: {
      splitPercentile: options.splitPercentile,
      splitConfidence,
      confident_refusal: bucketSummary('confident_refusal'),
      uncertain_refusal: bucketSummary('uncertain_refusal'),
      confident_compliance: bucketSummary('confident_compliance'),
      uncertain_compliance: bucketSummary('uncertain_compliance'),
    },
    per_category,
    instance_buckets: instanceBuckets,
  };
}
