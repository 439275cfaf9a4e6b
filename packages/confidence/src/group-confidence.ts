import { SlidingWindowConfidence } from './sliding-window.js';
import { assertWindow } from './validate.js';

/**
 * DeepConf group confidences (official `compute_least_grouped`, unrounded): the mean of every full
 * window of `window` consecutive tokens, n − W + 1 of them. A trace shorter than the window gives one
 * group, its whole mean; an empty trace gives `[0]`.
 *
 * @param tokenConfs token confidences (number[] or the client's Float64Array).
 * @param window W, the group size in tokens.
 */
export function groupConfidences(tokenConfs: ArrayLike<number>, window: number): number[] {
  assertWindow(window);
  const n = tokenConfs.length;
  const state = new SlidingWindowConfidence(window);
  if (n < window) {
    for (let i = 0; i < n; i++) state.push(tokenConfs[i] as number);
    return [state.mean];
  }
  const groups = new Array<number>(n - window + 1);
  for (let i = 0; i < n; i++) {
    state.push(tokenConfs[i] as number);
    if (i >= window - 1) groups[i - window + 1] = state.mean;
  }
  return groups;
}

/** `min(group_confs)` with Python's semantics: NaN wins only when it comes first. */
export function lowestGroupConfidence(tokenConfs: ArrayLike<number>, window: number): number {
  assertWindow(window);
  const state = new SlidingWindowConfidence(window);
  for (let i = 0; i < tokenConfs.length; i++) state.push(tokenConfs[i] as number);
  return state.lowest;
}
