import type { InstanceRecord, TraceRecord } from '@deepconf-safety/run-store';
import { type FinalTally, finalTally } from '../summarize.js';
import { type TraceSummary, traceSummary } from './trace-records.js';

/** A warmup trace of a finished prompt, as global calibration counts it. */
export type FinishedWarmup = TraceSummary & { instanceId: string };

/** What is left to do, from what the store already holds: the run reads the store this once. */
export interface ResumeState {
  /** Prompts already finished (their latest record), skipped by this run. */
  finished: ReadonlyMap<string, InstanceRecord>;
  /** Traces on disk of the prompts still open, by instance and trace index: reused, never redone. */
  recorded: Map<string, Map<number, TraceSummary>>;
  /** Warmup traces of the finished prompts, in store order (global calibration counts those of its slice). */
  finishedWarmups: FinishedWarmup[];
  /** Final-trace counts of the finished prompts, for results.json's early-stop rate. */
  finishedFinals: ReadonlyMap<string, FinalTally>;
  /** Every error trace on disk (latest record per trace, in store order): the run's error count starts from these. */
  errorTraces: TraceRecord[];
}

/**
 * Pure: the store's latest records (instances, traces) of a run over `instanceIds` to what is left. A finished prompt
 * is skipped; the traces of the others are reused. With `retryErrors`, a prompt with an error trace is open again and
 * its error traces are not reused (so they are redone).
 */
export function resumeState(
  instanceIds: ReadonlySet<string>,
  stored: { instances: readonly InstanceRecord[]; traces: readonly TraceRecord[] },
  retryErrors: boolean,
): ResumeState {
  const finished = new Map<string, InstanceRecord>();
  for (const r of stored.instances) if (instanceIds.has(r.instanceId)) finished.set(r.instanceId, r);
  const onDisk = stored.traces.filter((r) => instanceIds.has(r.instanceId));
  if (retryErrors) for (const r of onDisk) if (r.stopReason === 'error') finished.delete(r.instanceId);
  const recorded = new Map<string, Map<number, TraceSummary>>();
  const finishedWarmups: FinishedWarmup[] = [];
  const finishedTraces = new Map<string, TraceRecord[]>();
  for (const r of onDisk) {
    if (finished.has(r.instanceId)) {
      if (r.phase === 'warmup') finishedWarmups.push({ instanceId: r.instanceId, ...traceSummary(r) });
      const own = finishedTraces.get(r.instanceId);
      if (own) own.push(r);
      else finishedTraces.set(r.instanceId, [r]);
      continue;
    }
    if (retryErrors && r.stopReason === 'error') continue;
    let m = recorded.get(r.instanceId);
    if (!m) recorded.set(r.instanceId, (m = new Map()));
    m.set(r.traceIndex, traceSummary(r));
  }
  const finishedFinals = new Map<string, FinalTally>();
  for (const id of finished.keys()) finishedFinals.set(id, finalTally(finishedTraces.get(id) ?? []));
  const errorTraces = stored.traces.filter((r) => r.stopReason === 'error');
  return { finished, recorded, finishedWarmups, finishedFinals, errorTraces };
}

/** Remembers a trace of an open prompt (global calibration records the slice's warmups before the prompts run). */
export function rememberTrace(state: ResumeState, instanceId: string, trace: TraceSummary): void {
  let m = state.recorded.get(instanceId);
  if (!m) state.recorded.set(instanceId, (m = new Map()));
  m.set(trace.traceIndex, trace);
}
