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

/**
 * A trace's confidences as a replay at one window needs them: their count and their stop profile. A reader of a
 * large run keeps this instead of the values (80,000 traces of Float64 were most of a report's memory); a replay
 * at another window is an error, never a silent recomputation.
 */
export interface ProfiledConfidences {
  readonly length: number;
  readonly window: number;
  readonly profile: StopProfile;
}

/**
 * Holds many traces' profiles compactly: each profile's record lows (index and mean, interleaved) in a shared
 * Float64Array block, read through one small object. As plain arrays behind a Map per trace they took ~900 bytes
 * a trace, most of a large report's memory once the values themselves were no longer kept.
 */
export class ProfileStore {
  static readonly BLOCK_VALUES = 1 << 18;
  #block = new Float64Array(0);
  #used = 0;

  /** `blockValues`: size of each shared block (tests use small ones to cross block boundaries). */
  constructor(private readonly blockValues = ProfileStore.BLOCK_VALUES) {}

  /** One pass over the values (which the caller may then reuse), kept as a packed profile. */
  profile(confidences: ArrayLike<number>, window: number): ProfiledConfidences {
    const p = stopProfile(confidences, window);
    const n = p.recordAt.length;
    if (this.#used + 2 * n > this.#block.length) {
      this.#block = new Float64Array(Math.max(this.blockValues, 2 * n));
      this.#used = 0;
    }
    const start = this.#used;
    for (let k = 0; k < n; k++) {
      this.#block[start + 2 * k] = p.recordAt[k] as number;
      this.#block[start + 2 * k + 1] = p.recordMean[k] as number;
    }
    this.#used += 2 * n;
    return new PackedProfile(confidences.length, window, this.#block, start, n, p.lowest, p.firstFullNaN);
  }
}

/** A profile and its trace's length in one object over a shared block (see {@link ProfileStore}). */
class PackedProfile implements ProfiledConfidences, StopProfile {
  constructor(
    readonly length: number,
    readonly window: number,
    readonly block: Float64Array,
    readonly start: number,
    readonly records: number,
    readonly lowest: number,
    readonly firstFullNaN: boolean,
  ) {}
  get profile(): StopProfile {
    return this;
  }
  get recordAt(): number[] {
    return Array.from({ length: this.records }, (_, k) => this.block[this.start + 2 * k] as number);
  }
  get recordMean(): number[] {
    return Array.from({ length: this.records }, (_, k) => this.block[this.start + 2 * k + 1] as number);
  }
  stopIndex(threshold: number): number | null {
    for (let k = 0; k < this.records; k++)
      if ((this.block[this.start + 2 * k + 1] as number) < threshold) return this.block[this.start + 2 * k] as number;
    return null;
  }
}

/** Equals `findStopIndex(confidences, window, threshold)` for the profile's confidences and window. */
export function profileStopIndex(profile: StopProfile, threshold: number | null): number | null {
  if (threshold === null) return null;
  if (profile instanceof PackedProfile) return profile.stopIndex(threshold);
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
