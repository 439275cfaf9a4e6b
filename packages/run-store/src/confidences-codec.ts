/**
 * Per-token confidences are stored as base64 of little-endian Float64: a replay must reproduce the
 * online decisions bit for bit, which rounded decimals cannot promise.
 */
export function encodeConfidences(values: ArrayLike<number>): string {
  const bytes = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) bytes.writeDoubleLE(values[i] as number, i * 8);
  return bytes.toString('base64');
}

export function decodeConfidences(encoded: string): Float64Array {
  const bytes = Buffer.from(encoded, 'base64');
  const out = new Float64Array(bytes.length >> 3);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}
