import { calibrate } from '@deepconf-safety/confidence';
import type { TraceRecord } from '@deepconf-safety/run-store';
import type { RunContext } from './run-context.js';
import type { InstanceInput } from './settings.js';
import type { TraceSummary } from './trace-records.js';

const COMPLETED = new Set<TraceRecord['stopReason']>(['finished', 'length']);

export const indices = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** A prompt's warmup: the traces on disk, and the others run to completion (not yet written: see below). */
export interface Warmup {
  /** Run now; written once the threshold they are judged against is known. */
  fresh: TraceRecord[];
  /** Recorded by an earlier process. */
  reused: TraceSummary[];
}

/** Warmup traces 0 … count−1 of a prompt: the recorded ones reused, the others run (priority 0). */
export async function runWarmups(run: RunContext, inst: InstanceInput, count: number): Promise<Warmup> {
  const have = run.resume.recorded.get(inst.id);
  const reused: TraceSummary[] = [];
  const todo: number[] = [];
  for (const i of indices(0, count)) {
    const s = have?.get(i);
    if (s) reused.push(s);
    else todo.push(i);
  }
  const fresh = await Promise.all(
    todo.map((i) => run.control.enqueue(() => run.traces.run(inst, i, 'warmup', null), 0)),
  );
  return { fresh, reused };
}

/** DeepConf's threshold from the lowest-group confidences of the warmup traces that completed (null: none did). */
export function warmupThreshold(
  warm: readonly Pick<TraceSummary, 'stopReason' | 'lowestGroup'>[],
  keepPercent: number,
): number | null {
  return calibrate(
    warm.filter((t) => COMPLETED.has(t.stopReason) && t.lowestGroup !== null).map((t) => t.lowestGroup as number),
    keepPercent,
  );
}
