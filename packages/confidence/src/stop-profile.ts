import { SlidingWindowConfidence } from './sliding-window.js';

/**
 * Everything the online stop rule and the lowest-group confidence say about one trace at one window, from one
 * pass over its confidences. A replay of several thresholds (a sweep) asks "where would threshold T stop it?"
 * once per threshold; walking the confidences each time made the report's threshold sweep the slowest part of
 * reporting a large run. The answer is always a token where the window mean sets a new strict minimum (before
 * it every full-window mean was >= T > that mean), so those record lows are all a threshold needs.
 */
export interface StopProfile {
  /** Token indices (ascending) whose full-window mean is below every earlier full-window mean (NaN means skipped). */
  readonly recordAt: readonly number[];
  /** The window mean at each of `recordAt`, strictly decreasing. */
  readonly recordMean: readonly number[];
  /** `lowestGroupConfidence(confidences, window)`, Python `min` semantics included. */
  readonly lowest: number;
  /** The first full window's mean is NaN: Python's `min` keeps it, so the lowest group of any prefix is NaN. */
  readonly firstFullNaN: boolean;
}

/** One pass of the same sliding window the online monitor runs, so every number is bit-identical to it. */
// One window state per size, reset per trace: a fresh ring buffer per trace was 80,000 small allocations in a
// sweep of a large run, which the allocator never gave back.
const states = new Map<number, SlidingWindowConfidence>();

export function stopProfile(confidences: ArrayLike<number>, window: number): StopProfile {
  let state = states.get(window);
  if (state === undefined) states.set(window, (state = new SlidingWindowConfidence(window)));
  else state.reset();
  const recordAt: number[] = [];
  const recordMean: number[] = [];
  let least = Infinity;
  let firstFullNaN = false;
  for (let i = 0; i < confidences.length; i++) {
    state.push(confidences[i] as number);
    if (!state.full) continue;
    const mean = state.mean;
    if (i === window - 1 && Number.isNaN(mean)) firstFullNaN = true;
    if (mean < least) {
      least = mean;
      recordAt.push(i);
      recordMean.push(mean);
    }
  }
  return { recordAt, recordMean, lowest: state.lowest, firstFullNaN };
}

/** Equals `findStopIndex(confidences, window, threshold)` for the profile's confidences and window. */
export function profileStopIndex(profile: StopProfile, threshold: number | null): number | null {
  if (threshold === null) return null;
  const { recordMean, recordAt } = profile;
  for (let k = 0; k < recordMean.length; k++) if ((recordMean[k] as number) < threshold) return recordAt[k] as number;
  return null;
}

/**
 * The lowest-group confidence of the prefix up to and including a stop that {@link profileStopIndex} returned
 * (what a stopped trace weighs in the fallback vote): the record low at that token, as no earlier window was lower.
 */
export function profilePrefixLowest(profile: StopProfile, stop: number): number {
  if (profile.firstFullNaN) return NaN;
  const k = profile.recordAt.indexOf(stop);
  if (k < 0) throw new RangeError(`token ${stop} is not where a threshold stops this trace`);
  return profile.recordMean[k] as number;
}
