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
    const out = new Float64Array(valueCount(encoded));
    if (decodedInto(out, encoded)) return out;
  }
  return decodeByValue(encoded);
}

/** How many Float64 values `encoded` holds (if it is clean base64). */
const valueCount = (encoded: string): number => Buffer.byteLength(encoded, 'base64') >> 3;

/**
 * Decodes `encoded` into `out`'s memory; false when it wrote fewer bytes than `out` holds (stray characters
 * decode to fewer bytes than the length promises: the caller takes the general path then).
 */
function decodedInto(out: Float64Array, encoded: string): boolean {
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(encoded, 'base64') === out.byteLength;
}

function decodeByValue(encoded: string): Float64Array {
  const bytes = Buffer.from(encoded, 'base64');
  const out = new Float64Array(bytes.length >> 3);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleLE(i * 8);
  return out;
}

/**
 * Decodes many traces' confidences into shared 8 MiB blocks, each trace a `Float64Array` view into one. A large run
 * store holds ~80,000 of them: one allocation each left the allocator fragmented and the resident size well above
 * what the values need. A view's `buffer` is the shared block, so never transfer or reinterpret it whole.
 */
export class ConfidenceBlocks {
  static readonly BLOCK_VALUES = 1 << 20;
  #block = new Float64Array(0);
  #used = 0;

  decode(encoded: string): Float64Array {
    const n = valueCount(encoded);
    if (!LITTLE_ENDIAN || n > ConfidenceBlocks.BLOCK_VALUES / 4) return decodeConfidences(encoded);
    if (this.#used + n > this.#block.length) {
      this.#block = new Float64Array(ConfidenceBlocks.BLOCK_VALUES);
      this.#used = 0;
    }
    const out = this.#block.subarray(this.#used, this.#used + n);
    if (!decodedInto(out, encoded)) return decodeConfidences(encoded);
    this.#used += n;
    return out;
  }
}

/**
 * Decodes one trace's confidences at a time into one growing scratch array, for readers that keep only a summary
 * of each trace: the returned view is overwritten by the next `decode`.
 */
export class ScratchDecoder {
  #buffer = new Float64Array(1024);

  decode(encoded: string): Float64Array {
    if (!LITTLE_ENDIAN) return decodeConfidences(encoded);
    const n = valueCount(encoded);
    if (n > this.#buffer.length) this.#buffer = new Float64Array(Math.max(n, 2 * this.#buffer.length));
    const out = this.#buffer.subarray(0, n);
    return decodedInto(out, encoded) ? out : decodeConfidences(encoded);
  }
}
