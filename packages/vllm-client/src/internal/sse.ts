import { isAscii } from 'node:buffer';
import { VllmClientError } from '../errors.js';

/**
 * Largest event accepted, in characters. A vLLM event is a few KB (top-21 logprobs), or a few MB when the server
 * merges many tokens for a slow reader; bytes that never form an event (a server that streams garbage without blank
 * lines) must not grow the buffer until the trace deadline.
 */
export const MAX_EVENT_CHARS = 32 * 1024 * 1024;

/**
 * Server-sent-events splitter for the hot path: decodes bytes incrementally and returns the `data` payload of each
 * complete event. vLLM sends exactly `data: <json>\n\n`, which takes the fast path; anything else (several data lines,
 * comments, `event:`/`id:` fields, CRLF) is still handled per the SSE spec.
 */
export class SseSplitter {
  readonly #decoder = new TextDecoder('utf-8');
  /** True while the decoder may hold the first bytes of a character split across reads. */
  #decoderPending = false;
  #buf = '';
  #pendingCR = false;

  /** Feed one network read; appends the data payload of every event it completes to `out`. */
  push(bytes: Uint8Array, out: string[]): void {
    let text: string;
    if (!this.#decoderPending && isAscii(bytes)) {
      // vLLM's JSON is mostly ASCII; a latin1 copy is several times cheaper than UTF-8 decoding and identical for ASCII.
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const done = this.#buf.length === 0 && !this.#pendingCR ? plainEvents(b, out) : 0;
      if (done === b.length) return;
      text = b.toString('latin1', done);
    } else {
      text = this.#decoder.decode(bytes, { stream: true });
      // After an ASCII byte the decoder cannot be holding a partial character.
      this.#decoderPending = bytes.length === 0 || bytes[bytes.length - 1]! >= 0x80;
    }
    if (this.#pendingCR) {
      text = '\r' + text;
      this.#pendingCR = false;
    }
    if (text.includes('\r')) {
      // A CR at the very end may be the first half of a CRLF split across reads.
      if (text.endsWith('\r')) {
        this.#pendingCR = true;
        text = text.slice(0, -1);
      }
      text = text.replace(/\r\n?/g, '\n');
    }
    this.#scan(this.#buf.length === 0 ? text : this.#buf + text, out);
  }

  /** Bytes left that did not form a complete event (a stream cut mid-event). */
  get pending(): string {
    return this.#buf;
  }

  #scan(buf: string, out: string[]): void {
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end === -1) break;
      if (end > start) {
        const payload = eventData(buf, start, end);
        if (payload !== null) out.push(payload);
      }
      start = end + 2;
    }
    // Blank lines between events (e.g. "\n\n\n") leave a lone leading newline; drop it so it cannot pair up later.
    while (start < buf.length && buf.charCodeAt(start) === 10) start++;
    this.#buf = start === 0 ? buf : buf.slice(start);
    if (this.#buf.length > MAX_EVENT_CHARS) {
      throw new VllmClientError(
        'protocol',
        `the event stream holds an event over ${MAX_EVENT_CHARS / 1024 / 1024} MiB with no end: not an SSE stream`,
      );
    }
  }
}

const DATA_PREFIX = [100, 97, 116, 97, 58, 32]; // "data: "
const LF = 10;

/**
 * The bytes-level fast path for vLLM's exact layout (ASCII, no CR, each event a single `data: ` line): copies each
 * payload straight out of the read, so the payload is a flat string of its own (the scanner's charCodeAt and regex
 * work on flat strings fastest) and the read is never decoded as a whole. Returns how many bytes it consumed, always
 * up to an event boundary; the general path takes the rest (other layouts, an incomplete last event).
 */
function plainEvents(b: Buffer, out: string[]): number {
  if (b.indexOf(13) !== -1) return 0;
  let start = 0;
  for (;;) {
    // A single-line event ends at its first LF, which a second LF must follow; anything else is the general path's.
    const end = b.indexOf(LF, start);
    if (end === -1 || end + 1 >= b.length || b[end + 1] !== LF) return start;
    for (let i = 0; i < DATA_PREFIX.length; i++) if (b[start + i] !== DATA_PREFIX[i]) return start;
    out.push(b.toString('latin1', start + DATA_PREFIX.length, end));
    start = end + 2;
  }
}

/** The joined `data` lines of the event in buf[start, end), or null when it has none. */
function eventData(buf: string, start: number, end: number): string | null {
  const nl = buf.indexOf('\n', start);
  if ((nl === -1 || nl >= end) && buf.startsWith('data: ', start)) return buf.slice(start + 6, end);
  let data: string | null = null;
  let lineStart = start;
  while (lineStart < end) {
    let lineEnd = buf.indexOf('\n', lineStart);
    if (lineEnd === -1 || lineEnd > end) lineEnd = end;
    if (buf.startsWith('data', lineStart)) {
      const afterField = lineStart + 4;
      if (afterField === lineEnd || buf.charCodeAt(afterField) === 58 /* : */) {
        let valueStart = afterField === lineEnd ? lineEnd : afterField + 1;
        if (buf.charCodeAt(valueStart) === 32 && valueStart < lineEnd) valueStart++;
        const value = buf.slice(valueStart, lineEnd);
        data = data === null ? value : data + '\n' + value;
      }
    }
    lineStart = lineEnd + 1;
  }
  return data;
}
