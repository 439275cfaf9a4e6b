import type { PromptCounts } from '../experiment/run-tally.js';
import type { ErrorTally } from '../experiment/trace-errors.js';

export type { PromptCounts } from '../experiment/run-tally.js';
export { tallyErrors, type ErrorTally } from '../experiment/trace-errors.js';

/** "500 Internal Server Error (x 12); timeout after 30 s idle (x 2)": one entry per distinct message. */
export function describeMessages(tally: ErrorTally, max = 3): string {
  const shown = tally.messages.slice(0, max).map((m) => (m.count > 1 ? `${m.message} (x ${m.count})` : m.message));
  const rest = tally.messages.length - shown.length;
  return `${shown.join('; ')}${rest > 0 ? `; and ${rest} other message(s)` : ''}`;
}

/**
 * The verdict on a finished run: null when nothing failed; otherwise one line, and whether the run achieved
 * nothing (every trace failed, so no prompt was decided): such a run must not exit 0.
 */
export function runHealth(
  { prompts, traces, decided }: PromptCounts,
  tally: ErrorTally,
  resumeCommand: string,
): { failed: boolean; line: string } | null {
  if (tally.traces === 0) return null;
  if (decided === 0 && tally.traces >= traces) {
    return {
      failed: true,
      line:
        `every trace failed (${tally.traces} of ${traces}: ${describeMessages(tally)}), so nothing was measured. ` +
        `Fix the cause (the server at --base-url, its load, or an option such as --max-tokens), then redo them with: ${resumeCommand} --retry-errors`,
    };
  }
  return {
    failed: false,
    line:
      `warning: ${tally.traces} trace(s) failed, in ${tally.prompts} of ${prompts} prompts (${describeMessages(tally)}); ` +
      `those prompts were decided by their other traces. Redo the failed ones with: ${resumeCommand} --retry-errors`,
  };
}

/**
 * Prints a line the first time it is seen and counts the repeats, so a server that fails every request gives one
 * line with a count, not thousands. `flush` prints the counts.
 */
export function collapseRepeats(write: (line: string) => void): { write(line: string): void; flush(): void } {
  const seen = new Map<string, number>();
  return {
    write(line) {
      const n = seen.get(line);
      if (n === undefined) write(line);
      seen.set(line, (n ?? 0) + 1);
    },
    flush() {
      for (const [line, n] of seen) if (n > 1) write(`${line} (repeated ${n} times in all)`);
      seen.clear();
    },
  };
}
