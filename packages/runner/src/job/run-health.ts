import type { InstanceRecord, TraceRecord } from '@deepconf-safety/run-store';

/** Error traces of a run, grouped by message (most frequent first), with the prompts they touch. */
export interface ErrorTally {
  traces: number;
  prompts: number;
  /** Distinct messages, most frequent first. */
  messages: Array<{ message: string; count: number }>;
}

export function tallyErrors(traces: readonly Pick<TraceRecord, 'instanceId' | 'stopReason' | 'error'>[]): ErrorTally {
  const byMessage = new Map<string, number>();
  const prompts = new Set<string>();
  let count = 0;
  for (const t of traces) {
    if (t.stopReason !== 'error') continue;
    count++;
    prompts.add(t.instanceId);
    const message = t.error ?? 'unknown error';
    byMessage.set(message, (byMessage.get(message) ?? 0) + 1);
  }
  const messages = [...byMessage].map(([message, n]) => ({ message, count: n })).sort((a, b) => b.count - a.count);
  return { traces: count, prompts: prompts.size, messages };
}

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
  instances: readonly Pick<InstanceRecord, 'decision' | 'traces' | 'errors'>[],
  tally: ErrorTally,
  resumeCommand: string,
): { failed: boolean; line: string } | null {
  if (tally.traces === 0) return null;
  const traces = instances.reduce((a, r) => a + r.traces, 0);
  const decided = instances.filter((r) => r.decision !== null).length;
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
      `warning: ${tally.traces} trace(s) failed, in ${tally.prompts} of ${instances.length} prompts (${describeMessages(tally)}); ` +
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
