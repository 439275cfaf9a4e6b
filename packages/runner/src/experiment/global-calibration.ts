import { rememberTrace } from './resume-state.js';
import type { Calibration, RunContext } from './run-context.js';
import type { TraceSummary } from './trace-records.js';
import { runWarmups, warmupThreshold } from './warmup.js';

/**
 * Global calibration, before any prompt runs: the warmup of the first `calibrationInstances` prompts fixes one
 * threshold for every prompt. Finished prompts of the slice contribute their recorded warmups. The fresh warmups are
 * written once the threshold is known (their `voted` depends on it) and kept for their prompts' votes.
 */
export async function calibrateGlobally(run: RunContext): Promise<Calibration> {
  const { settings, resume } = run;
  const slice = run.instances.slice(0, settings.calibrationInstances);
  const instanceIds = new Set(slice.map((inst) => inst.id));
  const open = slice.filter((inst) => !resume.finished.has(inst.id));
  const warm = await Promise.all(
    open.map(async (inst) => ({ inst, ...(await runWarmups(run, inst, settings.warmup)) })),
  );
  const all: Pick<TraceSummary, 'stopReason' | 'lowestGroup'>[] = warm.flatMap((w) => [...w.reused, ...w.fresh]);
  if (open.length < slice.length) all.push(...resume.finishedWarmups.filter((t) => instanceIds.has(t.instanceId)));
  const threshold = warmupThreshold(all, settings.keepPercent);
  for (const w of warm) {
    for (const r of w.fresh) rememberTrace(resume, w.inst.id, run.recorder.trace(r, threshold));
  }
  return { kind: 'global', threshold, instanceIds };
}
