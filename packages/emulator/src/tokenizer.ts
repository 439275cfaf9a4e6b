// A word-piece tokeniser: not Qwen's BPE, but it gives token strings of realistic shape
// (" capital", ".", "\n\n", special tokens) and, crucially, the same count wherever the
// emulator counts (streamed logprob entries, usage, max_tokens).

// The last two alternatives make the pattern total: every code point belongs to some token.
const TOKEN_RE = /<\|[a-z_]+\|>|<\/?think>|\n+| ?[A-Za-z]+| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]| +|\s/gu;
const MAX_PIECE = 7;

/** Splits text into tokens whose concatenation is exactly `text`. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(TOKEN_RE)) {
    const piece = match[0];
    if (piece.length <= MAX_PIECE + 1 || piece.startsWith('<')) {
      out.push(piece);
      continue;
    }
    // Long ASCII runs become several pieces, as BPE splits rare words.
    const first = piece.startsWith(' ') ? MAX_PIECE + 1 : MAX_PIECE;
    out.push(piece.slice(0, first));
    for (let start = first; start < piece.length; start += MAX_PIECE) out.push(piece.slice(start, start + MAX_PIECE));
  }
  return out;
}

/** Number of tokens in `text`. */
export function countTokens(text: string): number {
  return tokenize(text).length;
}
