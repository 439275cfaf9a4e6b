import { endianness } from 'node:os';

/**
 * Per-token confidences are stored as base64 of little-endian Float64: a replay must reproduce the
 * online decisions bit for bit, which rounded decimals cannot promise.
 */
export function encodeConfidences(values: ArrayLike<number>): string {
  const bytes = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) bytes.writeDoubleLE(values[i] as number, i * 8);
  return bytes.toString('base64');
}

// On a little-endian machine (every one Node supports but s390x) the stored bytes are the array's own memory.
const LITTLE_ENDIAN = endianness() === 'LE';

export function decodeConfidences(encoded: string): Float64Array {
  if (LITTLE_ENDIAN) {
    // Decoded straight into the array's memory: no intermediate Buffer and no per-value read (the per-value
    // loop was a tenth of reading a large run store).
    const out = new Float64Array(Buffer.byteLength(encoded, 'base64') >> 3);
    const written = Buffer.from(out.buffer).write(encoded, 'base64');
    // Stray characters decode to fewer bytes than the length promises: the general path handles those.
    if (written === out.byteLength) return out;
  }
  return decodeByValue(encoded);
}

function decodeByValue(encoded: string): Float64Array {
  const bytes = Buffer.from(encoded, 'base64');
  const out = new Float64Array(bytes.length >> 3);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}
