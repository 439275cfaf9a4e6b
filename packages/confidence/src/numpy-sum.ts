/**
 * numpy's pairwise summation (`pairwise_sum` in numpy/_core/src/umath/loops_utils.h.src), which
 * `np.mean` uses for contiguous float64 data. Reproducing it makes our means bit-identical to
 * the official code's `np.mean` calls (checked against numpy 2.4 on random arrays), so rounded
 * values agree even on half-way ties. It allocates nothing.
 */
export function numpySum(values: ArrayLike<number>, start: number, end: number): number {
  const n = end - start;
  if (n < 8) {
    let res = 0;
    for (let i = start; i < end; i++) res += values[i] as number;
    return res;
  }
  if (n <= 128) {
    let r0 = values[start] as number;
    let r1 = values[start + 1] as number;
    let r2 = values[start + 2] as number;
    let r3 = values[start + 3] as number;
    let r4 = values[start + 4] as number;
    let r5 = values[start + 5] as number;
    let r6 = values[start + 6] as number;
    let r7 = values[start + 7] as number;
    const blockEnd = start + (n - (n % 8));
    let i = start + 8;
    for (; i < blockEnd; i += 8) {
      r0 += values[i] as number;
      r1 += values[i + 1] as number;
      r2 += values[i + 2] as number;
      r3 += values[i + 3] as number;
      r4 += values[i + 4] as number;
      r5 += values[i + 5] as number;
      r6 += values[i + 6] as number;
      r7 += values[i + 7] as number;
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < end; i++) res += values[i] as number;
    return res;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(values, start, start + half) + numpySum(values, start + half, end);
}

/** `np.mean(values[start:end])`; 0 for an empty range (the official calculate_* return 0.0 there). */
export function numpyMean(values: ArrayLike<number>, start = 0, end = values.length): number {
  return end > start ? numpySum(values, start, end) / (end - start) : 0;
}
