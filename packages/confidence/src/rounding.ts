/**
 * numpy's `round(np.float64(x), 3)` = `rint(x * 1000) / 1000`: half-to-even on the scaled float
 * (0.1235 → 0.124, 0.0025 → 0.002), unlike Python's decimal-exact `round`. Use it to get the
 * official code's rounded numbers; this package itself computes unrounded.
 */
export function roundHalfEven3(x: number): number {
  const scaled = x * 1000;
  let r = Math.round(scaled);
  // Math.round sends halves up; rint sends them to the even neighbour.
  if (r - scaled === 0.5 && r % 2 !== 0) r -= 1;
  return r / 1000;
}
