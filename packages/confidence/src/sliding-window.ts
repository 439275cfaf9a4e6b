import { assertWindow } from './validate.js';

/**
 * Online DeepConf state for one trace: the mean of the last `window` token confidences and the
 * lowest full-window mean so far. The numbers equal {@link groupConfidences} on the tokens pushed
 * so far (the batch functions run this same code).
 *
 * `push` is O(1) and allocation-free: a Float64Array ring buffer and a Neumaier-compensated sum
 * (a plain running sum drifts over 100k tokens; this one stays within ~1e-15 relative of the exact
 * window mean). Non-finite confidences are counted instead of summed so that a window holding
 * +Infinity is +Infinity and a window after it is finite again, which is what the official per-window
 * `sum(window)` gives (a running sum would turn into NaN).
 */
export class SlidingWindowConfidence {
  /** Window size W in tokens. */
  readonly window: number;
  private readonly ring: Float64Array;
  private head = 0;
  private total = 0;
  private sum = 0;
  private compensation = 0;
  private positiveInfinities = 0;
  private negativeInfinities = 0;
  private nans = 0;
  private lowestFull = 0;

  /** @param window W, the group size in tokens (official default 2048; choose it for your response lengths). */
  constructor(window: number) {
    assertWindow(window);
    this.window = window;
    this.ring = new Float64Array(window);
  }

  /** Adds the next token's confidence. */
  push(conf: number): void {
    const full = this.total >= this.window;
    if (full) this.remove(this.ring[this.head] as number);
    this.ring[this.head] = conf;
    this.head = this.head + 1 === this.window ? 0 : this.head + 1;
    this.total++;
    this.add(conf);
    if (this.total >= this.window) {
      const mean = this.mean;
      // Python's min(): a NaN first group wins, later NaN groups are skipped (`x < NaN` is false).
      if (this.total === this.window || mean < this.lowestFull) this.lowestFull = mean;
    }
  }

  /** Number of confidences pushed. */
  get count(): number {
    return this.total;
  }

  /** True once `window` tokens exist; only then may an online stop fire (official processor). */
  get full(): boolean {
    return this.total >= this.window;
  }

  /** Mean of the last min(count, window) confidences; 0 before the first push (official empty trace). */
  get mean(): number {
    const n = this.total < this.window ? this.total : this.window;
    if (n === 0) return 0;
    if (this.nans > 0 || (this.positiveInfinities > 0 && this.negativeInfinities > 0)) return NaN;
    if (this.positiveInfinities > 0) return Infinity;
    if (this.negativeInfinities > 0) return -Infinity;
    return (this.sum + this.compensation) / n;
  }

  /**
   * Lowest full-window mean so far (the trace's `min_conf`). While fewer than `window` tokens exist it
   * is the mean of all of them, and 0 for an empty trace, as the official `compute_least_grouped`.
   */
  get lowest(): number {
    return this.total >= this.window ? this.lowestFull : this.mean;
  }

  /**
   * The official online stop rule (`processors.py`): the window is full and its mean is below
   * `threshold` (strictly).
   */
  below(threshold: number): boolean {
    return this.total >= this.window && this.mean < threshold;
  }

  /** Forgets every token, keeping the window size (reuse for the next trace without allocating). */
  reset(): void {
    this.head = 0;
    this.total = 0;
    this.sum = 0;
    this.compensation = 0;
    this.positiveInfinities = 0;
    this.negativeInfinities = 0;
    this.nans = 0;
    this.lowestFull = 0;
  }

  private add(x: number): void {
    if (x === Infinity) this.positiveInfinities++;
    else if (x === -Infinity) this.negativeInfinities++;
    else if (Number.isNaN(x)) this.nans++;
    else this.accumulate(x);
  }

  private remove(x: number): void {
    if (x === Infinity) this.positiveInfinities--;
    else if (x === -Infinity) this.negativeInfinities--;
    else if (Number.isNaN(x)) this.nans--;
    else this.accumulate(-x);
  }

  // Neumaier's variant of Kahan summation: also exact when |x| > |sum| (e.g. a ±500 spike from
  // vLLM's −9999 clamp entering or leaving the window).
  private accumulate(x: number): void {
    const s = this.sum;
    const t = s + x;
    this.compensation += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    this.sum = t;
  }
}
