/** Result of separating a reasoning model's `<think>` section from its answer. */
export type ThinkingSplit = {
  /** Text inside the thinking block, or null when the response has none. */
  thinking: string | null;
  /** Text the user would see; the only part that is ever scored. */
  answer: string;
  /** Offset of `answer` inside the original text, so evidence spans can point into the original. */
  answerOffset: number;
  /** True when a `<think>` was opened but never closed (trace stopped while still reasoning). */
  unclosed: boolean;
};

const OPEN = /<think(?:ing)?>/i;
const CLOSE = /<\/think(?:ing)?>/i;

/**
 * Split `<think>…</think>` (or `<thinking>`) from the answer. Some chat templates put the opening
 * tag in the prompt, so a lone `</think>` also ends a thinking section. An unclosed `<think>`
 * means everything is reasoning and the answer is empty.
 */
export function splitThinking(text: string): ThinkingSplit {
  const close = CLOSE.exec(text);
  const open = OPEN.exec(text);
  if (close !== null && (open === null || open.index < close.index)) {
    const start = open === null ? 0 : open.index + open[0].length;
    const answerOffset = close.index + close[0].length;
    return {
      thinking: text.slice(start, close.index),
      answer: text.slice(answerOffset),
      answerOffset,
      unclosed: false,
    };
  }
  if (open !== null && text.slice(0, open.index).trim() === '') {
    return { thinking: text.slice(open.index + open[0].length), answer: '', answerOffset: text.length, unclosed: true };
  }
  return { thinking: null, answer: text, answerOffset: 0, unclosed: false };
}

// Each replacement keeps the string length, so a match in the normalised text is a valid span in
// the original: that is why markdown is blanked rather than removed.
const CHAR_MAP: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201B': "'",
  '\u2032': "'",
  '\u02BC': "'",
  '\u0060': "'",
  '\u00B4': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u201E': '"',
  '\u2033': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u00A0': ' ',
  '\u2009': ' ',
  '\u202F': ' ',
  '*': ' ',
  _: ' ',
  '#': ' ',
  '>': ' ',
  '~': ' ',
};
const CHAR_RE =
  /[\u2018\u2019\u201B\u2032\u02BC\u0060\u00B4\u201C\u201D\u201E\u2033\u2013\u2014\u00A0\u2009\u202F*_#>~]/g;

/** Lower-case, straighten quotes and blank markdown; same length as the input. */
export function normalizeForMatching(text: string): string {
  // "* item" bullets survive as "- item" so list structure is still visible after blanking markdown.
  const mapped = text.replace(/^([ \t]*)[*+]([ \t])/gm, '$1-$2').replace(CHAR_RE, (c) => CHAR_MAP[c] ?? c);
  const lower = mapped.toLowerCase();
  // toLowerCase can change length for a few code points (e.g. U+0130); keep offsets honest.
  return lower.length === mapped.length
    ? lower
    : [...mapped].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join('');
}

/**
 * Blank the inside of double-quoted passages (dialogue in a story, a quoted example) so a
 * character saying "I'm sorry, I can't" is not read as the model refusing. Short quotes such as a
 * quoted phrase from the prompt are kept: they are part of the model's own sentence.
 */
export function maskQuotations(norm: string, minLength = 16): string {
  return norm.replace(/"([^"\n]{1,2000})"/g, (whole, inner: string) =>
    inner.length >= minLength && /\s/.test(inner) ? `"${' '.repeat(inner.length)}"` : whole,
  );
}

export type Sentence = { start: number; end: number; text: string };

/**
 * Split normalised text into sentences / list items with offsets. Line breaks always end a unit
 * (list items and headings are units of their own); otherwise `.`, `!`, `?` followed by space.
 */
export function splitSentences(norm: string): Sentence[] {
  const out: Sentence[] = [];
  let unitStart = 0;
  const push = (end: number): void => {
    const raw = norm.slice(unitStart, end);
    const lead = raw.length - raw.trimStart().length;
    const trimmed = raw.trim();
    if (/[a-z0-9]/.test(trimmed))
      out.push({ start: unitStart + lead, end: unitStart + lead + trimmed.length, text: trimmed });
    unitStart = end;
  };
  for (let i = 0; i < norm.length; i++) {
    const c = norm[i];
    if (c === '\n') {
      push(i + 1);
    } else if ((c === '.' || c === '!' || c === '?') && /\s/.test(norm[i + 1] ?? ' ')) {
      // "1. " opens a list item rather than ending a sentence.
      if (c === '.' && /^\s*\(?[0-9a-z]{1,2}\)?$/.test(norm.slice(unitStart, i))) continue;
      push(i + 1);
    }
  }
  push(norm.length);
  return out;
}
