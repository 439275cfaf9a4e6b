import { detectRefusal as defaultDetectRefusal } from '@deepconf-safety/refusal';
import type { Results, RunStore } from '@deepconf-safety/run-store';
import { RunInterruptedError, ServerFailureError } from './errors.js';
import { calibrateGlobally } from './experiment/global-calibration.js';
import { runPrompt } from './experiment/prompt-run.js';
import { resumeState } from './experiment/resume-state.js';
import type { Calibration, RunContext } from './experiment/run-context.js';
import { RunControl } from './experiment/run-control.js';
import { type RunProgress, RunRecorder } from './experiment/run-recorder.js';
import { type PromptCounts, RunTally } from './experiment/run-tally.js';
import { type InstanceInput, type RunSettings, uniqueInstanceIds, validateSettings } from './experiment/settings.js';
import { type ErrorTally, TraceErrors } from './experiment/trace-errors.js';
import { TraceRunner } from './experiment/trace-runner.js';
import type { TraceJudge } from './judge/trace-judge.js';
import type { TraceSource } from './trace-source.js';

export { validateSettings, type InstanceInput, type RunProgress, type RunSettings };

export interface RunExperimentOptions {
  instances: readonly InstanceInput[];
  settings: RunSettings;
  source: TraceSource;
  /** A store opened for writing (`RunStore.create`); already-recorded work in it is reused, never duplicated. */
  store: RunStore;
  emulated: boolean;
  /** Traces in flight at once across all prompts and endpoints. */
  concurrency: number;
  /** Requests per trace (the source's retries included) before it is recorded as an error (default 3). */
  maxAttempts?: number;
  /** Redo the traces recorded as errors (and re-append their prompts' records). */
  retryErrors?: boolean;
  /** Give up on the run after this many traces in a row failed every attempt (default max(20, 2 x concurrency)). */
  maxConsecutiveErrors?: number;
  /** Abort: stop launching, abort in-flight traces, return `interrupted`. */
  signal?: AbortSignal;
  onProgress?(progress: RunProgress): void;
  /** Called once, after the store was read and before any trace runs, with the error traces it holds. */
  onResume?(resume: { errors: ErrorTally }): void;
  /** Strings that must never reach a record (API keys); replaced by `***` in error messages. */
  secrets?: readonly string[];
  detectRefusal?: typeof defaultDetectRefusal;
  /** An LLM judge asked about every answered trace before it is recorded; it also says which label the vote uses. */
  judge?: TraceJudge;
}

export interface RunOutcome {
  status: 'completed' | 'interrupted';
  /** results.json as written (null when interrupted). */
  results: Results | null;
  /** Prompts done in this process / skipped because already finished. */
  ranInstances: number;
  resumedInstances: number;
  /** The error traces of the run as its store now holds them (latest record per trace; resumed ones included). */
  errors: ErrorTally;
  /** The finished prompts (resumed ones included), as `runHealth` counts them. */
  prompts: PromptCounts;
}

type StartedRun = RunContext & { tally: RunTally; errors: TraceErrors };

/** The run's shared parts: what the store holds (read once), the queues and abort, the trace runner, the recorder. */
function startRun(options: RunExperimentOptions): StartedRun {
  const { settings, store } = options;
  validateSettings(settings);
  const ids = uniqueInstanceIds(options.instances);
  // Resume: finished prompts are skipped; traces already on disk are reused for the others.
  const resume = resumeState(
    ids,
    { instances: store.readInstances(), traces: store.readTraces() },
    options.retryErrors ?? false,
  );
  const concurrency = Math.max(1, options.concurrency);
  const control = new RunControl(concurrency, options.signal);
  const traces = new TraceRunner({
    settings,
    source: options.source,
    control,
    detectRefusal: options.detectRefusal ?? defaultDetectRefusal,
    judge: options.judge,
    maxAttempts: options.maxAttempts ?? 3,
    maxConsecutiveErrors: options.maxConsecutiveErrors ?? Math.max(20, 2 * concurrency),
    secrets: options.secrets ?? [],
  });
  const tally = new RunTally(resume.finished, resume.finishedFinals);
  const errors = new TraceErrors(resume.errorTraces);
  options.onResume?.({ errors: errors.tally() });
  const resumed = options.instances.flatMap((inst) => resume.finished.get(inst.id) ?? []);
  const recorder = new RunRecorder(store, tally, errors, options.instances.length, resumed, options.onProgress);
  return { instances: options.instances, settings, control, traces, recorder, resume, tally, errors };
}

/** Opens at most `concurrency` prompts at a time, in order, until every open prompt ran or the run was aborted. */
async function runPrompts(run: RunContext, calibration: Calibration): Promise<void> {
  const { control } = run;
  for (const inst of run.instances) {
    if (run.resume.finished.has(inst.id)) continue;
    await control.instanceQueue.onSizeLessThan(control.instanceQueue.concurrency);
    if (control.aborted) break;
    void control.instanceQueue
      .add(() => runPrompt(run, inst, calibration))
      .catch((error: unknown) => {
        if (error instanceof RunInterruptedError) return;
        control.abortAll(error instanceof Error ? error : new ServerFailureError(String(error)));
      });
  }
  await control.instanceQueue.onIdle();
}

/** Waits for every task; writes results.json from the tally when the run completed. */
async function finishRun(run: StartedRun, options: RunExperimentOptions, error?: unknown) {
  const status = await run.control.settle(error);
  const counts = {
    ranInstances: run.recorder.ranInstances,
    resumedInstances: run.recorder.resumedInstances,
    errors: run.errors.tally(),
    prompts: run.tally.prompts(),
  };
  if (status === 'interrupted') return { status, results: null, ...counts } satisfies RunOutcome;
  const results = run.tally.results({ emulated: options.emulated, splitPercentile: run.settings.splitPercentile });
  options.store.writeResults(results);
  return { status, results, ...counts } satisfies RunOutcome;
}

/**
 * Runs DeepConf online over the instances (see ../shared/docs/deepconf.md): per prompt, warmup traces run to
 * completion and calibrate the threshold, final traces stream and are aborted when the window confidence falls
 * below it; the confidence-weighted vote of the traces that qualify decides refuse / comply. One queue over all
 * traces of all prompts; records are appended to the store as they finish; results.json is written at the end,
 * from the summary accumulated as prompts finished.
 */
export async function runExperiment(options: RunExperimentOptions): Promise<RunOutcome> {
  const run = startRun(options);
  try {
    const calibration: Calibration =
      run.settings.calibration === 'global' ? await calibrateGlobally(run) : { kind: 'per-instance' };
    run.recorder.report();
    await runPrompts(run, calibration);
  } catch (error) {
    return await finishRun(run, options, error);
  }
  return finishRun(run, options);
}
