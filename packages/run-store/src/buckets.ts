import type { BucketName, Decision } from './schema.js';

/**
 * The four buckets: confident/uncertain x refusal/compliance. A prompt whose decision confidence is at
 * or above the run's split is "confident". Shared by the runner (writes results.json) and reporting
 * (recomputes from instances.jsonl), so both always agree.
 */
export function assignBucket(
  decision: Decision | null,
  confidence: number | null,
  splitConfidence: number | null,
): BucketName | null {
  if (decision === null || confidence === null || splitConfidence === null) return null;
  const level = confidence >= splitConfidence ? 'confident' : 'uncertain';
  return `${level}_${decision === 'refuse' ? 'refusal' : 'compliance'}` as BucketName;
}

/** numpy-style linear-interpolation percentile (q in 0..100); null for an empty sample. */
export function percentile(values: readonly number[], q: number): number | null {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const pos = (q / 100) * (finite.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = finite[lo] as number;
  const b = finite[hi] as number;
  return a + (b - a) * (pos - lo);
}
