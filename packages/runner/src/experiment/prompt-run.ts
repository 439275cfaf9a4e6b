import { hasConsensus } from '@deepconf-safety/confidence';
import type { Calibration, RunContext } from './run-context.js';
import { type InstanceInput, decisionRule } from './settings.js';
import { type TraceSummary, instanceRecord } from './trace-records.js';
import { indices, runWarmups, warmupThreshold } from './warmup.js';

/** A prompt after its warmup: how many warmup traces it has, its threshold, and the traces the consensus check sees. */
interface Warmed {
  warmupCount: number;
  threshold: number | null;
  /** Its warmup traces (adaptive sampling's vote starts from them). */
  traces: readonly TraceSummary[];
}

/**
 * One prompt, start to finish: warmup → threshold → final traces (streamed against it, stopped early) → vote →
 * its record. Every trace is appended as it is known; the prompt's record last, so a kill loses no finished trace.
 */
export async function runPrompt(run: RunContext, inst: InstanceInput, calibration: Calibration): Promise<void> {
  const warmed = calibration.kind === 'global' ? globalWarmup(run, inst, calibration) : await ownWarmup(run, inst);
  const { finals, skipped } = await runFinals(run, inst, warmed);
  run.control.checkAborted();
  const all = [...warmed.traces.filter((t) => t.phase === 'warmup'), ...finals].sort(
    (a, b) => a.traceIndex - b.traceIndex,
  );
  const rec = instanceRecord(inst, all, warmed.threshold, skipped, decisionRule(run.settings));
  run.control.checkAborted();
  run.recorder.instance(rec, all);
  run.resume.recorded.delete(inst.id);
}

/** Per-instance calibration: the prompt's own warmup runs (or is reused) and sets its threshold. */
async function ownWarmup(run: RunContext, inst: InstanceInput): Promise<Warmed> {
  const warmupCount = run.settings.warmup;
  const { fresh, reused } = await runWarmups(run, inst, warmupCount);
  const threshold = warmupThreshold([...reused, ...fresh], run.settings.keepPercent);
  return { warmupCount, threshold, traces: [...reused, ...fresh.map((r) => run.recorder.trace(r, threshold))] };
}

/** Global calibration: the slice's warmups were run (and recorded) before; the others have none. */
function globalWarmup(
  run: RunContext,
  inst: InstanceInput,
  calibration: Extract<Calibration, { kind: 'global' }>,
): Warmed {
  const warmupCount = calibration.instanceIds.has(inst.id) ? run.settings.warmup : 0;
  const have = run.resume.recorded.get(inst.id);
  const traces: TraceSummary[] = [];
  for (const i of indices(0, warmupCount)) {
    const s = have?.get(i);
    if (s) traces.push(s);
  }
  return { warmupCount, threshold: calibration.threshold, traces };
}

/**
 * The final traces warmupCount … traces−1 (priority 1): reused when on disk, else streamed against the threshold
 * (none under --no-early-stop). With adaptive sampling (--consensus) they go one at a time, in index order: trace i
 * is launched only if the vote over every trace before it (warmups, and finals whether run now or reused from disk)
 * has not reached tau, else skipped. That makes what is launched a function of the traces alone, not of timing, so a
 * run resumed after a kill launches exactly what the uninterrupted run would have.
 */
async function runFinals(
  run: RunContext,
  inst: InstanceInput,
  warmed: Warmed,
): Promise<{ finals: TraceSummary[]; skipped: number }> {
  const { settings } = run;
  const have = run.resume.recorded.get(inst.id);
  const order = indices(warmed.warmupCount, settings.traces);
  if (settings.consensusTau === null) {
    const finals = await Promise.all(order.map((i) => have?.get(i) ?? runFinal(run, inst, warmed, i)));
    return { finals, skipped: 0 };
  }
  const tau = settings.consensusTau;
  const finals: TraceSummary[] = [];
  let skipped = 0;
  for (const i of order) {
    const reused = have?.get(i);
    const s = reused ?? (settledAt(warmed, finals, tau, run) ? null : await runFinal(run, inst, warmed, i));
    if (s) finals.push(s);
    else skipped++;
  }
  return { finals, skipped };
}

/** Whether the vote over the prompt's warmups and the finals so far has reached tau. */
function settledAt(warmed: Warmed, finals: readonly TraceSummary[], tau: number, run: RunContext): boolean {
  return hasConsensus([...warmed.traces, ...finals], warmed.threshold, tau, decisionRule(run.settings));
}

/** One final trace streamed against the prompt's threshold (none under --no-early-stop), recorded as it ends. */
async function runFinal(run: RunContext, inst: InstanceInput, warmed: Warmed, i: number): Promise<TraceSummary> {
  const streamThreshold = run.settings.earlyStop ? warmed.threshold : null;
  return run.control.enqueue(
    async () => run.recorder.trace(await run.traces.run(inst, i, 'final', streamThreshold), warmed.threshold),
    1,
  );
}
