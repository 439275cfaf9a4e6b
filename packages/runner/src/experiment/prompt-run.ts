import { hasConsensus } from '@deepconf-safety/confidence';
import type { Calibration, RunContext } from './run-context.js';
import { type InstanceInput, decisionRule } from './settings.js';
import { type TraceSummary, instanceRecord } from './trace-records.js';
import { indices, runWarmups, warmupThreshold } from './warmup.js';

/** A prompt after its warmup: how many warmup traces it has, its threshold, and the traces the consensus check sees. */
interface Warmed {
  warmupCount: number;
  threshold: number | null;
  /** Its warmup traces; final traces run in this process are added as they finish (adaptive sampling reads them). */
  traces: TraceSummary[];
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
 * (none under --no-early-stop) unless adaptive sampling finds the vote already settled (then skipped).
 */
async function runFinals(
  run: RunContext,
  inst: InstanceInput,
  warmed: Warmed,
): Promise<{ finals: TraceSummary[]; skipped: number }> {
  const { settings, control } = run;
  const streamThreshold = settings.earlyStop ? warmed.threshold : null;
  const have = run.resume.recorded.get(inst.id);
  let skipped = 0;
  const settled = () =>
    settings.consensusTau !== null &&
    hasConsensus(warmed.traces, warmed.threshold, settings.consensusTau, decisionRule(settings));
  const finals = await Promise.all(
    indices(warmed.warmupCount, settings.traces).map(async (i) => {
      const s = have?.get(i);
      if (s) return s;
      return control.enqueue(async () => {
        if (settled()) {
          skipped++;
          return null;
        }
        const s = run.recorder.trace(await run.traces.run(inst, i, 'final', streamThreshold), warmed.threshold);
        warmed.traces.push(s);
        return s;
      }, 1);
    }),
  );
  return { finals: finals.filter((t): t is TraceSummary => t !== null), skipped };
}
