import { isUtf8 } from 'node:buffer';
import { DatasetFormatError, DatasetOptionError } from './errors.js';

// Node's latin1 is ISO-8859-1 byte for byte; WHATWG's TextDecoder maps "latin1" to windows-1252, which
// reads 0x80-0x9F as other characters. A user who says latin1 gets latin1.
const ISO_8859_1 = new Set(['latin1', 'iso-8859-1', 'iso8859-1', 'iso_8859-1', 'l1']);
const UTF8 = new Set(['utf8', 'utf-8']);

/** Byte offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: sequence length and the allowed range of the second byte (no overlongs, no surrogates, <= U+10FFFF).
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += len;
  }
  return -1;
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

function utf16Hint(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return null;
}

/**
 * A file's bytes as text: UTF-8 unless `encoding` says otherwise, a byte-order mark dropped in every
 * encoding, and bytes that are not valid UTF-8 an error naming the byte offset (never U+FFFD in a prompt).
 */
export function decodeText(bytes: Uint8Array, file: string, encoding?: string): string {
  const name = (encoding ?? 'utf-8').trim().toLowerCase();
  let text: string;
  if (UTF8.has(name)) {
    if (!isUtf8(bytes)) {
      const offset = firstInvalidUtf8(bytes);
      const utf16 = utf16Hint(bytes);
      const advice = utf16
        ? `it starts with a ${utf16.toUpperCase()} byte-order mark: pass --encoding ${utf16} (encoding: '${utf16}')`
        : 'convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8), or pass its encoding with --encoding, e.g. --encoding latin1';
      throw new DatasetFormatError(
        file,
        lineAt(bytes, offset),
        null,
        `invalid UTF-8 at byte offset ${offset}: ${advice}`,
        offset,
      );
    }
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  } else if (ISO_8859_1.has(name)) {
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  } else {
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(name, { fatal: true, ignoreBOM: true });
    } catch {
      throw new DatasetOptionError(
        `--encoding ${encoding}: not an encoding this loader knows; use utf-8, latin1, windows-1252, utf-16le or another WHATWG encoding label`,
      );
    }
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new DatasetFormatError(
        file,
        null,
        null,
        `not valid ${decoder.encoding}: check --encoding (given: ${encoding})`,
      );
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
