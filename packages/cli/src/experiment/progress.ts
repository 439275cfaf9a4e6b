import cliProgress from 'cli-progress';
import type { RunProgress } from '@deepconf-safety/runner';

export interface ProgressDisplay {
  update(p: RunProgress): void;
  stop(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

interface Figures {
  tokensPerSecond: number;
  savings: string;
  eta: string;
}

function figures(p: RunProgress, startDone: number, elapsedS: number): Figures {
  const tokensPerSecond = elapsedS > 0 ? p.sessionTokens / elapsedS : 0;
  const savings = p.baselineTokens > 0 ? `${(100 * (1 - p.tokens / p.baselineTokens)).toFixed(1)}%` : '-';
  const doneHere = p.instancesDone - startDone;
  const eta = doneHere > 0 ? formatDuration(((p.instancesTotal - p.instancesDone) * elapsedS) / doneHere) : '?';
  return { tokensPerSecond, savings, eta };
}

/**
 * A bar (prompts done, tokens/s, savings so far, ETA) on a terminal; on anything else (CI logs, files) a plain
 * line at most every `intervalMs` and at the end, since a bar redrawn with \r makes unreadable logs.
 */
export function createProgress(options: {
  tty: boolean;
  write(line: string): void;
  now?: () => number;
  intervalMs?: number;
}): ProgressDisplay {
  const now = options.now ?? Date.now;
  const started = now();
  let startDone: number | null = null;
  const elapsed = () => (now() - started) / 1000;
  if (options.tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: 'prompts {bar} {value}/{total} | {tps} tok/s | savings {savings} | errors {errors} | ETA {etaText}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started_ = false;
    return {
      update(p) {
        startDone ??= p.instancesDone;
        const f = figures(p, startDone, elapsed());
        const payload = { tps: f.tokensPerSecond.toFixed(0), savings: f.savings, errors: p.errors, etaText: f.eta };
        if (!started_) {
          bar.start(p.instancesTotal, p.instancesDone, payload);
          started_ = true;
        } else {
          bar.update(p.instancesDone, payload);
        }
      },
      stop() {
        if (started_) bar.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 10_000;
  let lastLine = -Infinity;
  let last: RunProgress | null = null;
  let lastDone = -1;
  const line = (p: RunProgress) => {
    startDone ??= p.instancesDone;
    const f = figures(p, startDone, elapsed());
    options.write(
      `[experiment] ${p.instancesDone}/${p.instancesTotal} prompts, ${f.tokensPerSecond.toFixed(0)} tok/s, savings ${f.savings}, ${p.earlyStopped} traces stopped early, ${p.errors} errors, ETA ${f.eta}`,
    );
    lastLine = now();
    lastDone = p.instancesDone;
  };
  return {
    update(p) {
      last = p;
      if (p.instancesDone !== lastDone && (now() - lastLine >= interval || p.instancesDone === p.instancesTotal))
        line(p);
    },
    stop() {
      if (last && last.instancesDone !== lastDone) line(last);
    },
  };
}
