import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { detectRefusal as defaultDetectRefusal } from '@deepconf-safety/refusal';
import {
  encodeConfidences,
  type InstanceRecord,
  type Results,
  type RunStore,
  type TraceRecord,
} from '@deepconf-safety/run-store';
import { isVllmClientError, type VllmErrorCode } from '@deepconf-safety/vllm-client';
import {
  baselineTokens,
  calibrate,
  decidePrompt,
  hasConsensus,
  isVoter,
  traceMetrics,
  type DecisionConfidence,
  type DecisionRule,
  type Phase,
  type VoteRule,
  type VotingTrace,
} from '@deepconf-safety/confidence';
import { RunInterruptedError, RunnerConfigError, ServerFailureError, redactSecrets } from './errors.js';
import { traceSeed } from './seeds.js';
import { summarizeRun } from './summarize.js';
import type { TraceRequest, TraceResult, TraceSource } from './trace-source.js';
import type { TraceJudge } from './judge/trace-judge.js';

/** The settings' decision rule, leaving unset fields to the policy's defaults. */
const decisionRule = (s: Pick<RunSettings, 'decisionConfidence' | 'vote'>): DecisionRule => ({
  ...(s.decisionConfidence === undefined ? {} : { decisionConfidence: s.decisionConfidence }),
  ...(s.vote === undefined ? {} : { vote: s.vote }),
});

/** One prompt to run (a `BenchmarkRecord` from `@deepconf-safety/datasets` fits). */
export interface InstanceInput {
  id: string;
  prompt: string;
  shouldRefuse: boolean | null;
  category: string;
  source: string;
}

/** Everything that decides a run's results (the CLI hashes it into the manifest). */
export interface RunSettings {
  /** Traces per prompt, warmup included. */
  traces: number;
  /** Warmup traces per prompt (per-instance calibration) or per calibration prompt (global calibration). */
  warmup: number;
  /** Sliding-window size in tokens for the stop rule and the lowest-group confidence. */
  window: number;
  /** DeepConf eta: share of warmup confidence to keep (10 = DeepConf-low, 90 = DeepConf-high). */
  keepPercent: number;
  /** `per-instance`: each prompt's own warmup sets its threshold; `global`: the warmup of the first `calibrationInstances` prompts sets one threshold for all. */
  calibration: 'per-instance' | 'global';
  /** Size of the calibration slice under global calibration. */
  calibrationInstances: number;
  /** False = baseline: every trace runs in full (the vote still uses the DeepConf rule, so a replay can compute any setting). */
  earlyStop: boolean;
  /** Adaptive sampling: stop launching a prompt's traces once the weighted vote reaches this share (null = off). */
  consensusTau: number | null;
  /** Run seed; each trace gets its own seed derived from it. */
  seed: number;
  /** Percentile of prompt confidence that splits confident from uncertain (results.json buckets). */
  splitPercentile: number;
  /** Definition of a prompt's decision confidence (default vote-share) and the vote (default weighted). */
  decisionConfidence?: DecisionConfidence;
  vote?: VoteRule;
  request: {
    maxTokens: number;
    temperature: number;
    topP: number;
    topK: number;
    topLogprobs: number;
    thinking: boolean;
    system?: string;
  };
}

export interface RunProgress {
  instancesDone: number;
  instancesTotal: number;
  /** Tokens generated in this process (for tokens/s). */
  sessionTokens: number;
  /** Over every finished prompt, resumed ones included. */
  tokens: number;
  baselineTokens: number;
  earlyStopped: number;
  errors: number;
}

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
}

/** What a prompt keeps of each of its traces while it is open (never the text or confidences). */
interface TraceSummary extends VotingTrace {
  traceIndex: number;
  tokens: number;
}

const COMPLETED = new Set<TraceRecord['stopReason']>(['finished', 'length']);
/** Client error codes no other trace can get past: the run stops at once. */
const FATAL_CODES: ReadonlySet<VllmErrorCode> = new Set<VllmErrorCode>(['auth', 'model_not_found']);

export function validateSettings(s: RunSettings): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RunnerConfigError(name, `must be an integer >= ${min} (got ${v})`);
  };
  int('--traces', s.traces, 1);
  int('--warmup', s.warmup, 0);
  int('--window', s.window, 1);
  int('--calibration-instances', s.calibrationInstances, 1);
  if (s.warmup > s.traces)
    throw new RunnerConfigError('--warmup', `cannot exceed --traces (${s.warmup} > ${s.traces})`);
  if (s.calibration === 'per-instance' && s.earlyStop && s.warmup === 0) {
    throw new RunnerConfigError(
      '--warmup',
      'must be at least 1 with per-instance calibration: the warmup traces set the stop threshold',
    );
  }
  if (s.calibration === 'global' && s.warmup === 0)
    throw new RunnerConfigError('--warmup', 'must be at least 1 with global calibration');
  if (!(s.keepPercent > 0 && s.keepPercent <= 100))
    throw new RunnerConfigError('--keep-percent', `must be in (0, 100] (got ${s.keepPercent})`);
  if (s.consensusTau !== null && !(s.consensusTau > 0.5 && s.consensusTau <= 1)) {
    throw new RunnerConfigError('--consensus', `must be in (0.5, 1] (got ${s.consensusTau})`);
  }
  if (!(s.splitPercentile >= 0 && s.splitPercentile <= 100))
    throw new RunnerConfigError('--split-percentile', `must be in [0, 100] (got ${s.splitPercentile})`);
}

function summaryOf(r: TraceRecord): TraceSummary {
  return {
    traceIndex: r.traceIndex,
    phase: r.phase,
    stopReason: r.stopReason,
    lowestGroup: r.lowestGroup,
    refused: r.stopReason === 'error' || r.refusal === null ? null : (r.voteLabel?.refused ?? r.refusal.refused),
    tokens: r.tokens,
  };
}

const indices = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/**
 * Runs DeepConf online over the instances (see ../shared/docs/deepconf.md): per prompt, warmup traces run to
 * completion and calibrate the threshold, final traces stream and are aborted when the window confidence falls
 * below it; the confidence-weighted vote of the traces that qualify decides refuse / comply. One queue over all
 * traces of all prompts; records are appended to the store as they finish; results.json is written at the end.
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: still one closure over the run; splitting it into resume state, a per-prompt unit and the summary is issue 15, left open
export async function runExperiment(options: RunExperimentOptions): Promise<RunOutcome> {
  const { settings, source, store } = options;
  validateSettings(settings);
  const detectRefusal = options.detectRefusal ?? defaultDetectRefusal;
  const maxAttempts = options.maxAttempts ?? 3;
  const concurrency = Math.max(1, options.concurrency);
  const maxConsecutiveErrors = options.maxConsecutiveErrors ?? Math.max(20, 2 * concurrency);
  const redact = (text: string) => redactSecrets(text, options.secrets ?? []);

  const ids = new Set<string>();
  for (const inst of options.instances) {
    if (ids.has(inst.id))
      throw new RunnerConfigError('instances', `duplicate instance id ${JSON.stringify(inst.id)}; ids must be unique`);
    ids.add(inst.id);
  }

  // Resume: finished prompts are skipped; traces already on disk are reused for the others.
  const finished = new Map(store.readInstances().map((r) => [r.instanceId, r]));
  const recorded = new Map<string, Map<number, TraceSummary>>();
  const onDisk = store.readTraces().filter((r) => ids.has(r.instanceId));
  if (options.retryErrors) for (const r of onDisk) if (r.stopReason === 'error') finished.delete(r.instanceId);
  for (const r of onDisk) {
    if (finished.has(r.instanceId) || (options.retryErrors && r.stopReason === 'error')) continue;
    let m = recorded.get(r.instanceId);
    if (!m) recorded.set(r.instanceId, (m = new Map()));
    m.set(r.traceIndex, summaryOf(r));
  }

  // Queued tasks are never dropped on abort: each one starts, sees the abort and throws, so every promise
  // settles and onIdle() really means nothing will append to the store any more.
  const traceQueue = new PQueue({ concurrency });
  // Bounds how many prompts are open at once, so memory stays flat however many prompts there are.
  const instanceQueue = new PQueue({ concurrency });
  const internal = new AbortController();
  // Every in-flight trace listens on it: up to `concurrency` listeners is expected, not a leak.
  setMaxListeners(0, internal.signal);
  let failure: Error | null = null;
  const abortAll = (reason: Error | null) => {
    if (reason && !failure) failure = reason;
    if (!internal.signal.aborted) internal.abort();
  };
  const onExternalAbort = () => abortAll(null);
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  if (options.signal?.aborted) abortAll(null);

  const progress: RunProgress = {
    instancesDone: 0,
    instancesTotal: options.instances.length,
    sessionTokens: 0,
    tokens: 0,
    baselineTokens: 0,
    earlyStopped: 0,
    errors: 0,
  };
  for (const inst of options.instances) {
    const r = finished.get(inst.id);
    if (!r) continue;
    progress.instancesDone++;
    progress.tokens += r.tokens;
    progress.baselineTokens += r.baselineTokens;
    progress.earlyStopped += r.earlyStopped;
    progress.errors += r.errors;
  }
  const resumedInstances = progress.instancesDone;
  const report = () => options.onProgress?.({ ...progress });
  let consecutiveErrors = 0;

  const checkAborted = () => {
    if (failure) throw failure;
    if (internal.signal.aborted) throw new RunInterruptedError();
  };

  /** Runs one trace (the source retries it) and returns its record; an error record when its last attempt failed. */
  const generate = async (
    inst: InstanceInput,
    traceIndex: number,
    phase: Phase,
    streamThreshold: number | null,
  ): Promise<TraceRecord> => {
    const request: TraceRequest = {
      prompt: inst.prompt,
      maxTokens: settings.request.maxTokens,
      temperature: settings.request.temperature,
      topP: settings.request.topP,
      topK: settings.request.topK,
      seed: traceSeed(settings.seed, inst.id, traceIndex),
      topLogprobs: settings.request.topLogprobs,
      thinking: settings.request.thinking,
      sessionId: inst.id,
      ...(settings.request.system === undefined ? {} : { system: settings.request.system }),
    };
    checkAborted();
    let result: TraceResult;
    try {
      // The one stop path and the one retry loop are the source's: the client applies the rule per token and retries
      // what a new request may cure, at most maxAttempts requests in all.
      result = await source.runTrace(request, {
        stopRule: { window: settings.window, threshold: streamThreshold },
        maxRetries: maxAttempts - 1,
        signal: internal.signal,
      });
    } catch (error) {
      checkAborted();
      const client = isVllmClientError(error) ? error : null;
      const message = redact(
        client !== null
          ? `${client.code}: ${client.message}`
          : error instanceof Error
            ? `${error.name}: ${error.message}`
            : String(error),
      );
      if (client !== null && FATAL_CODES.has(client.code)) {
        throw new ServerFailureError(
          `the server refused the request (${message}); fix the endpoint, model or API key and rerun with --resume`,
        );
      }
      return failedTrace(message, client?.attempts ?? 1);
    }
    consecutiveErrors = 0;
    const metrics = traceMetrics(result.confidences, settings.window);
    const stopReason = result.stopReason;
    const refusal = detectRefusal(result.text, { truncated: stopReason !== 'finished', prompt: inst.prompt });
    const judged = await options.judge
      ?.judgeTrace(
        { instanceId: inst.id, traceIndex, prompt: inst.prompt, text: result.text, detector: refusal },
        internal.signal,
      )
      .catch((error: unknown) => {
        checkAborted();
        throw error;
      });
    return {
      instanceId: inst.id,
      traceIndex,
      phase,
      stopReason,
      stoppedAtToken: stopReason === 'early_stopped' ? result.stoppedAt : null,
      tokens: result.tokens,
      confidences: encodeConfidences(result.confidences),
      lowestGroup: metrics.lowestGroup,
      bottom10: metrics.bottom10,
      tail: metrics.tail,
      mean: metrics.mean,
      threshold: streamThreshold,
      voted: false,
      text: result.text,
      reasoning: result.reasoning,
      refusal,
      ...(judged?.source === 'judge' ? { voteLabel: judged } : {}),
      endpoint: result.endpoint,
      attempts: result.attempts,
      latencyMs: result.latencyMs,
      error: null,
    };

    function failedTrace(lastError: string, attempts: number): TraceRecord {
      consecutiveErrors++;
      if (consecutiveErrors >= maxConsecutiveErrors) {
        throw new ServerFailureError(
          `${consecutiveErrors} traces in a row failed every attempt (last: ${lastError}); check the server, then redo them with --resume --retry-errors`,
        );
      }
      return {
        instanceId: inst.id,
        traceIndex,
        phase,
        stopReason: 'error',
        stoppedAtToken: null,
        tokens: 0,
        confidences: '',
        lowestGroup: null,
        bottom10: null,
        tail: null,
        mean: null,
        threshold: streamThreshold,
        voted: false,
        text: '',
        reasoning: null,
        refusal: null,
        endpoint: null,
        attempts,
        latencyMs: null,
        error: lastError,
      };
    }
  };

  const enqueue = <T>(task: () => Promise<T>, priority: number): Promise<T> =>
    traceQueue.add(
      async () => {
        checkAborted();
        return task();
      },
      { priority },
    ) as Promise<T>;

  const record = (r: TraceRecord, threshold: number | null): TraceSummary => {
    const s = summaryOf(r);
    const out = { ...r, voted: isVoter(s, threshold) };
    store.appendTrace(out);
    progress.sessionTokens += r.tokens;
    report();
    return s;
  };

  /** Warmup traces run to completion; they are written once the threshold they are judged against is known. */
  const runWarmups = async (
    inst: InstanceInput,
    count: number,
  ): Promise<{ fresh: TraceRecord[]; reused: TraceSummary[] }> => {
    const have = recorded.get(inst.id);
    const reused: TraceSummary[] = [];
    const todo: number[] = [];
    for (const i of indices(0, count)) {
      const s = have?.get(i);
      if (s) reused.push(s);
      else todo.push(i);
    }
    const fresh = await Promise.all(todo.map((i) => enqueue(() => generate(inst, i, 'warmup', null), 0)));
    return { fresh, reused };
  };

  const warmupThreshold = (warm: readonly (TraceSummary | TraceRecord)[]) =>
    calibrate(
      warm.filter((t) => COMPLETED.has(t.stopReason) && t.lowestGroup !== null).map((t) => t.lowestGroup as number),
      settings.keepPercent,
    );

  // Global calibration: the calibration slice's warmup runs first and fixes one threshold for every prompt.
  let globalThreshold: number | null = null;
  const calibrationIds = new Set<string>();
  if (settings.calibration === 'global') {
    const slice = options.instances.slice(0, settings.calibrationInstances);
    for (const inst of slice) calibrationIds.add(inst.id);
    try {
      const open = slice.filter((inst) => !finished.has(inst.id));
      const warm = await Promise.all(
        open.map(async (inst) => ({ inst, ...(await runWarmups(inst, settings.warmup)) })),
      );
      const all: (TraceSummary | TraceRecord)[] = warm.flatMap((w) => [...w.reused, ...w.fresh]);
      // Finished prompts of the slice contribute their recorded warmups too.
      if (open.length < slice.length) {
        all.push(
          ...store
            .readTraces()
            .filter((r) => r.phase === 'warmup' && calibrationIds.has(r.instanceId) && finished.has(r.instanceId)),
        );
      }
      globalThreshold = warmupThreshold(all);
      for (const w of warm) {
        let m = recorded.get(w.inst.id);
        if (!m) recorded.set(w.inst.id, (m = new Map()));
        for (const r of w.fresh) m.set(r.traceIndex, record(r, globalThreshold));
      }
    } catch (error) {
      return await finish(error);
    }
  }

  const runInstance = async (inst: InstanceInput): Promise<void> => {
    const global = settings.calibration === 'global';
    const warmupCount = global ? (calibrationIds.has(inst.id) ? settings.warmup : 0) : settings.warmup;
    let threshold: number | null;
    const traces: TraceSummary[] = [];
    if (global) {
      threshold = globalThreshold;
      const have = recorded.get(inst.id);
      for (const i of indices(0, warmupCount)) {
        const s = have?.get(i);
        if (s) traces.push(s);
      }
    } else {
      const { fresh, reused } = await runWarmups(inst, warmupCount);
      threshold = warmupThreshold([...reused, ...fresh]);
      traces.push(...reused, ...fresh.map((r) => record(r, threshold)));
    }
    const streamThreshold = settings.earlyStop ? threshold : null;
    const have = recorded.get(inst.id);
    let skipped = 0;
    const finals = await Promise.all(
      indices(warmupCount, settings.traces).map(async (i) => {
        const s = have?.get(i);
        if (s) return s;
        return enqueue(async () => {
          if (
            settings.consensusTau !== null &&
            hasConsensus(traces, threshold, settings.consensusTau, decisionRule(settings))
          ) {
            skipped++;
            return null;
          }
          const s = record(await generate(inst, i, 'final', streamThreshold), threshold);
          traces.push(s);
          return s;
        }, 1);
      }),
    );
    checkAborted();
    const all = [
      ...traces.filter((t) => t.phase === 'warmup'),
      ...finals.filter((t): t is TraceSummary => t !== null),
    ].sort((a, b) => a.traceIndex - b.traceIndex);
    // With no voter (global calibration can stop every trace of a prompt outside the calibration slice), the
    // fallback vote over every answered trace decides, so every prompt gets a decision; the record says so.
    const vote = decidePrompt(all, threshold, decisionRule(settings));
    const tokens = all.reduce((a, t) => a + t.tokens, 0);
    const baseline = baselineTokens(all, skipped);
    const rec: InstanceRecord = {
      instanceId: inst.id,
      prompt: inst.prompt,
      category: inst.category,
      source: inst.source,
      shouldRefuse: inst.shouldRefuse,
      decision: vote.decision,
      confidence: vote.confidence,
      voteShare: vote.voteShare,
      votes: vote.votes,
      correct:
        inst.shouldRefuse === null || vote.decision === null
          ? null
          : (vote.decision === 'refuse') === inst.shouldRefuse,
      threshold,
      traces: all.length,
      voters: vote.voted.filter(Boolean).length,
      earlyStopped: all.filter((t) => t.stopReason === 'early_stopped').length,
      errors: all.filter((t) => t.stopReason === 'error').length,
      tokens,
      baselineTokens: baseline.baselineTokens,
      baselineEstimated: baseline.estimated,
      skipped,
      fallback: vote.fallback,
    };
    checkAborted();
    store.appendInstance(rec);
    recorded.delete(inst.id);
    progress.instancesDone++;
    progress.tokens += rec.tokens;
    progress.baselineTokens += rec.baselineTokens;
    progress.earlyStopped += rec.earlyStopped;
    progress.errors += rec.errors;
    report();
  };

  async function finish(error: unknown): Promise<RunOutcome> {
    options.signal?.removeEventListener('abort', onExternalAbort);
    if (error !== undefined) {
      abortAll(error instanceof RunInterruptedError || !(error instanceof Error) ? null : error);
    }
    await traceQueue.onIdle();
    await instanceQueue.onIdle();
    if (failure) throw failure;
    if (internal.signal.aborted)
      return {
        status: 'interrupted',
        results: null,
        ranInstances: progress.instancesDone - resumedInstances,
        resumedInstances,
      };
    const results = summarizeRun(
      store.readInstances().filter((r) => ids.has(r.instanceId)),
      {
        emulated: options.emulated,
        splitPercentile: settings.splitPercentile,
        traces: store.readTraces(),
      },
    );
    store.writeResults(results);
    return { status: 'completed', results, ranInstances: progress.instancesDone - resumedInstances, resumedInstances };
  }

  report();
  for (const inst of options.instances) {
    if (finished.has(inst.id)) continue;
    await instanceQueue.onSizeLessThan(concurrency);
    if (internal.signal.aborted) break;
    void instanceQueue
      .add(() => runInstance(inst))
      .catch((error: unknown) => {
        if (error instanceof RunInterruptedError) return;
        abortAll(error instanceof Error ? error : new ServerFailureError(String(error)));
      });
  }
  await instanceQueue.onIdle();
  return finish(undefined);
}
