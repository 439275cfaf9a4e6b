/**
 * Replays recorded traces under a DeepConf setting, exactly as the online runner would have run them. Pure
 * (no run-store types): the runner's `npm run sweep` and reporting's threshold sweep both map their records
 * onto these inputs, so both compute the same numbers from one store.
 */
import { InvalidArgumentError } from './errors.js';
import {
  baselineTokens,
  calibrate,
  decidePrompt,
  type DecisionConfidence,
  type Phase,
  type PromptDecision,
  type VoteRule,
  type StopReason,
  type VotingTrace,
} from './policy.js';
import { assertWindow } from './validate.js';
import {
  profilePrefixLowest,
  profileStopIndex,
  stopProfile,
  type ProfiledConfidences,
  type StopProfile,
} from './stop-profile.js';

/** One recorded trace, as a replay needs it. */
export interface PolicyReplayTrace {
  traceIndex: number;
  /** The phase it was recorded in: the recorded warmup traces estimate the recording's no-early-stop baseline. */
  phase?: Phase;
  stopReason: StopReason;
  /**
   * Exact per-token confidences as streamed (the prefix up to the stop for an early-stopped trace), or their
   * stop profile at the one window the replay will use (see {@link ProfiledConfidences}).
   */
  confidences: ArrayLike<number> | ProfiledConfidences;
  /** Tokens the trace cost when recorded. */
  tokens: number;
  /** The recorded lowest-group confidence; null means the trace has no usable confidence (it failed). */
  lowestGroup: number | null;
  /** Refusal label of the recorded text (null without one: error, or no label). */
  refused: boolean | null;
}

/** One finished prompt of a recording. */
export interface PolicyReplayPrompt {
  id: string;
  /** Traces by trace index. */
  traces: readonly PolicyReplayTrace[];
  /** Under global calibration: whether this prompt's warmup set the run's threshold (it has warmup traces). */
  calibration: boolean;
  /** Traces adaptive sampling skipped (0 without --consensus). */
  skipped: number;
}

/** The setting to replay and the two facts of the recording it depends on. */
export interface PolicyReplaySetting {
  /** Sliding-window size in tokens (stop rule and lowest-group confidence). */
  window: number;
  /** DeepConf η: share of warmup confidence kept above the threshold (10 = DeepConf-low, 90 = DeepConf-high). */
  keepPercent: number;
  /** Warmup traces per prompt (per calibration prompt under global calibration). */
  warmup: number;
  /** False replays the vote without stopping anything. */
  earlyStop: boolean;
  /** The recording's calibration: per prompt, or one threshold from the calibration prompts. */
  calibration: 'per-instance' | 'global';
  /** Whether the recording stopped traces early (false: its baseline is exact, the sum of its tokens). */
  recordedEarlyStop: boolean;
  /**
   * Labels of traces the fallback vote needs but the replay stops elsewhere than the run did (their text never
   * existed). `exact` (default): such a setting is not computable (`fallback-label-unknown`). `recorded`: use the
   * label of the recorded, longer text, and count those traces in `approximateLabels`.
   */
  fallbackLabels?: 'exact' | 'recorded';
  /** Decision-confidence definition (default vote-share); replay a recording with the one it recorded. */
  decisionConfidence?: DecisionConfidence;
  /** Weighted (default) or majority vote. */
  vote?: VoteRule;
}

export interface PolicyReplayedTrace {
  traceIndex: number;
  phase: Phase;
  stopReason: StopReason;
  /** Index into the recorded confidences at which the replay stops the trace, or null. */
  stoppedAt: number | null;
  tokens: number;
  /** Lowest-group confidence with the replay's window (null for stopped and failed traces: they never vote). */
  lowestGroup: number | null;
  voted: boolean;
}

export interface PolicyReplayedPrompt extends PromptDecision {
  id: string;
  threshold: number | null;
  traces: PolicyReplayedTrace[];
  tokens: number;
  baselineTokens: number;
  baselineEstimated: boolean;
  earlyStopped: number;
  errors: number;
  /** Fallback voters labelled on their recorded text instead of the text they would have produced (`fallbackLabels: 'recorded'`). */
  approximateLabels: number;
}

/** A trace the replay would need more of than was recorded. */
export interface PolicyBlockedTrace {
  id: string;
  traceIndex: number;
  /**
   * `warmup-truncated`: a stopped trace would calibrate; `stop-beyond-recording`: a stopped trace would run
   * further; `fallback-label-unknown`: the prompt needs the fallback vote and a trace would stop somewhere
   * else than recorded, so the label of the text it would have produced is unknown.
   */
  reason: 'warmup-truncated' | 'stop-beyond-recording' | 'fallback-label-unknown';
}

export type PolicyReplay =
  | { computable: true; prompts: PolicyReplayedPrompt[] }
  | { computable: false; blocked: PolicyBlockedTrace[] };

const COMPLETED = new Set<StopReason>(['finished', 'length']);

/**
 * Per trace and window, one pass over its confidences (see {@link StopProfile}), however many settings share the
 * window: a sweep of eight thresholds used to walk every trace eight times and compute every trace metric to
 * keep only the lowest group.
 */
const profileCache = new WeakMap<PolicyReplayTrace, Map<number, StopProfile>>();
function profileAt(trace: PolicyReplayTrace, window: number): StopProfile {
  const c = trace.confidences;
  if (isProfiled(c)) {
    if (c.window !== window)
      throw new InvalidArgumentError(
        'window',
        `${window}: trace ${trace.traceIndex}'s confidences were profiled at window ${c.window} only`,
      );
    return c.profile;
  }
  let byWindow = profileCache.get(trace);
  if (!byWindow) profileCache.set(trace, (byWindow = new Map()));
  let value = byWindow.get(window);
  if (value === undefined) byWindow.set(window, (value = stopProfile(c, window)));
  return value;
}

function isProfiled(c: ArrayLike<number> | ProfiledConfidences): c is ProfiledConfidences {
  return typeof (c as Partial<ProfiledConfidences>).window === 'number' && 'profile' in c;
}

function lowestGroupAt(trace: PolicyReplayTrace, window: number): number | null {
  if (trace.stopReason === 'error' || trace.lowestGroup === null) return null;
  return profileAt(trace, window).lowest;
}

function warmupCount(prompt: PolicyReplayPrompt, setting: PolicyReplaySetting): number {
  return setting.calibration === 'global' && !prompt.calibration ? 0 : setting.warmup;
}

function calibrationLows(prompt: PolicyReplayPrompt, setting: PolicyReplaySetting): number[] {
  const count = warmupCount(prompt, setting);
  return prompt.traces
    .filter((t) => t.traceIndex < count && COMPLETED.has(t.stopReason))
    .flatMap((t) => {
      const low = lowestGroupAt(t, setting.window);
      return low === null ? [] : [low];
    });
}

function checkSetting(s: PolicyReplaySetting): void {
  assertWindow(s.window);
  if (!(s.keepPercent > 0 && s.keepPercent <= 100))
    throw new InvalidArgumentError('keepPercent', `must be in (0, 100], got ${String(s.keepPercent)}`);
  if (!Number.isSafeInteger(s.warmup) || s.warmup < 0)
    throw new InvalidArgumentError('warmup', `must be an integer >= 0, got ${String(s.warmup)}`);
  if (s.fallbackLabels !== undefined && s.fallbackLabels !== 'exact' && s.fallbackLabels !== 'recorded') {
    throw new InvalidArgumentError('fallbackLabels', `must be 'exact' or 'recorded', got ${String(s.fallbackLabels)}`);
  }
  if (s.calibration !== 'per-instance' && s.calibration !== 'global') {
    throw new InvalidArgumentError('calibration', `must be 'per-instance' or 'global', got ${String(s.calibration)}`);
  }
}

interface Walked extends PolicyReplayedTrace, VotingTrace {
  source: PolicyReplayTrace;
  /** Whether the replay's text is the recorded one (so is its label). */
  labelKnown: boolean;
}

/** One walked trace, every one built alike (object spreads here were most of a sweep's time). */
function walkedTrace(
  t: PolicyReplayTrace,
  phase: Phase,
  stopReason: StopReason,
  stoppedAt: number | null,
  tokens: number,
  lowestGroup: number | null,
  labelKnown: boolean,
): Walked {
  const refused = t.stopReason === 'error' ? null : t.refused;
  return {
    source: t,
    traceIndex: t.traceIndex,
    phase,
    refused,
    voted: false,
    stopReason,
    stoppedAt,
    tokens,
    lowestGroup,
    labelKnown,
  };
}

/**
 * Walks a prompt's traces through the online stop rule at this threshold; null when a trace the recording
 * stopped cannot be replayed (each such trace is added to `blocked`).
 */
function walkPrompt(
  prompt: PolicyReplayPrompt,
  setting: PolicyReplaySetting,
  threshold: number | null,
  blocked: PolicyBlockedTrace[],
): Walked[] | null {
  const warmups = warmupCount(prompt, setting);
  const streamThreshold = setting.earlyStop ? threshold : null;
  const walked: Walked[] = [];
  let blockedHere = false;
  for (const t of prompt.traces) {
    const phase: Phase = t.traceIndex < warmups ? 'warmup' : 'final';
    if (t.stopReason === 'error') {
      walked.push(walkedTrace(t, phase, 'error', null, t.tokens, null, true));
      continue;
    }
    const wasStopped = t.stopReason === 'early_stopped';
    const stop = phase === 'final' ? profileStopIndex(profileAt(t, setting.window), streamThreshold) : null;
    if (stop === null) {
      if (wasStopped) {
        blocked.push({
          id: prompt.id,
          traceIndex: t.traceIndex,
          reason: phase === 'warmup' ? 'warmup-truncated' : 'stop-beyond-recording',
        });
        blockedHere = true;
        continue;
      }
      walked.push(walkedTrace(t, phase, t.stopReason, null, t.tokens, lowestGroupAt(t, setting.window), true));
    } else {
      // The same stop the run made costs what the run recorded; an earlier one costs the tokens up to it.
      const sameStop = wasStopped && stop === t.confidences.length - 1;
      walked.push(walkedTrace(t, phase, 'early_stopped', stop, sameStop ? t.tokens : stop + 1, null, sameStop));
    }
  }
  return blockedHere ? null : walked;
}

/**
 * The prompt's decision over its walked traces, with the fallback where no trace may vote; null when the
 * fallback needs labels of text the replay cut elsewhere than the recording (each such trace added to `blocked`).
 */
function decideWalked(
  prompt: PolicyReplayPrompt,
  walked: Walked[],
  threshold: number | null,
  setting: PolicyReplaySetting,
  blocked: PolicyBlockedTrace[],
): { decision: PromptDecision; approximateLabels: number } | null {
  const rule = {
    ...(setting.decisionConfidence ? { decisionConfidence: setting.decisionConfidence } : {}),
    ...(setting.vote ? { vote: setting.vote } : {}),
  };
  const decision = decidePrompt(walked, threshold, { ...rule, fallback: false });
  if (decision.voted.some(Boolean)) return { decision, approximateLabels: 0 };
  const unknown = walked.filter((t) => t.stopReason === 'early_stopped' && !t.labelKnown && t.refused !== null);
  if (unknown.length > 0 && setting.fallbackLabels !== 'recorded') {
    for (const t of unknown)
      blocked.push({ id: prompt.id, traceIndex: t.traceIndex, reason: 'fallback-label-unknown' });
    return null;
  }
  // The fallback weighs a stopped trace by the lowest group of the tokens it produced, as the runner does.
  const withPrefix = walked.map((t) =>
    t.stopReason === 'early_stopped'
      ? {
          ...t,
          lowestGroup: profilePrefixLowest(profileAt(t.source, setting.window), t.stoppedAt as number),
        }
      : t,
  );
  return { decision: decidePrompt(withPrefix, threshold, rule), approximateLabels: unknown.length };
}

/** The replayed prompt as the runner would have recorded it: its traces, tokens and the recording's baseline. */
function replayedPrompt(
  prompt: PolicyReplayPrompt,
  walked: readonly Walked[],
  decided: { decision: PromptDecision; approximateLabels: number },
  threshold: number | null,
  setting: PolicyReplaySetting,
): PolicyReplayedPrompt {
  const { decision } = decided;
  const traces: PolicyReplayedTrace[] = walked.map((t, i) => ({
    traceIndex: t.traceIndex,
    phase: t.phase,
    stopReason: t.stopReason,
    stoppedAt: t.stoppedAt,
    tokens: t.tokens,
    lowestGroup: t.lowestGroup,
    voted: decision.voted[i] === true,
  }));
  const baseline = setting.recordedEarlyStop
    ? baselineTokens(prompt.traces, prompt.skipped)
    : { baselineTokens: prompt.traces.reduce((a, t) => a + t.tokens, 0), estimated: false };
  return {
    ...decision,
    id: prompt.id,
    threshold,
    traces,
    tokens: traces.reduce((a, t) => a + t.tokens, 0),
    baselineTokens: baseline.baselineTokens,
    baselineEstimated: baseline.estimated,
    earlyStopped: traces.filter((t) => t.stopReason === 'early_stopped').length,
    errors: traces.filter((t) => t.stopReason === 'error').length,
    approximateLabels: decided.approximateLabels,
  };
}

/**
 * Replays the prompts under one setting, exactly as the online runner would have run them on the same traces:
 * the first `warmup` traces calibrate the threshold (per prompt, or once from the calibration prompts under
 * global calibration), every other trace is walked through the online stop rule (stopped at token i = i + 1
 * tokens) and {@link decidePrompt} decides, with its fallback. Stopped traces never vote, so their truncated
 * text is needed only by the fallback, and only where the replay stops them at the recorded token. Not
 * computable when the setting needs tokens (or labels) the recording never produced; every blocked trace is
 * listed.
 *
 * The baseline is the recording's own (exact for a --no-early-stop recording), so every setting replayed from
 * one recording is compared with the same cost. Adaptive sampling is not re-simulated: the replay votes over
 * the traces that were recorded.
 */
export function replayPolicy(prompts: readonly PolicyReplayPrompt[], setting: PolicyReplaySetting): PolicyReplay {
  checkSetting(setting);
  const global = setting.calibration === 'global';
  const globalThreshold = global
    ? calibrate(
        prompts.filter((p) => p.calibration).flatMap((p) => calibrationLows(p, setting)),
        setting.keepPercent,
      )
    : null;
  const blocked: PolicyBlockedTrace[] = [];
  const out: PolicyReplayedPrompt[] = [];
  for (const prompt of prompts) {
    const threshold = global ? globalThreshold : calibrate(calibrationLows(prompt, setting), setting.keepPercent);
    const walked = walkPrompt(prompt, setting, threshold, blocked);
    if (walked === null) continue;
    const decided = decideWalked(prompt, walked, threshold, setting, blocked);
    // Once any trace is blocked the replay is not computable: later prompts only add to the list.
    if (decided === null || blocked.length > 0) continue;
    out.push(replayedPrompt(prompt, walked, decided, threshold, setting));
  }
  if (blocked.length > 0) return { computable: false, blocked };
  return { computable: true, prompts: out };
}
