import cliProgress from 'cli-progress';
import type { StudyCounts, StudyEvent } from '@deepconf-safety/runner';

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface StudyProgress {
  event(e: StudyEvent): void;
  stop(): void;
}

const total = (c: StudyCounts): number => c.done + c.running + c.left + c.failed;

function cellLine(e: Extract<StudyEvent, { type: 'cell-end' }>): string {
  const c = e.cell;
  const what =
    e.outcome.status === 'completed'
      ? 'done'
      : e.outcome.status === 'interrupted'
        ? 'interrupted'
        : `FAILED (${e.outcome.error ?? 'see its study-cell.log'})`;
  const cost = c.costUsd === null ? '' : `, $${c.costUsd.toFixed(2)}`;
  const k = e.counts;
  return `[study] ${k.done}/${total(k)} cells done, ${k.running} running, ${k.left} left, ETA ${formatDuration(k.etaSeconds)} | ${c.id} ${what} in ${c.wallSeconds.toFixed(1)}s, ${c.tokens ?? 0} tokens${cost}${c.emulated ? ' [EMULATED]' : ''}`;
}

/** The whole study on a terminal (a bar: cells done / running / left, ETA); one line per finished cell otherwise. */
export function createStudyProgress(options: { tty: boolean; write(line: string): void }): StudyProgress {
  if (!options.tty) {
    return {
      event(e) {
        if (e.type === 'cell-end') options.write(cellLine(e));
        if (e.type === 'budget-stop')
          options.write(
            `[study] budget: projected $${e.projectedUsd.toFixed(2)} would pass --max-cost-usd ${e.maxCostUsd}; no more cells are launched`,
          );
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'cells {bar} {value}/{total} done | {running} running | {left} left | {failed} failed | ETA {eta_}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    event(e) {
      const k = e.counts;
      const payload = { running: k.running, left: k.left, failed: k.failed, eta_: formatDuration(k.etaSeconds) };
      if (!started) bar.start(total(k), k.done, payload);
      else bar.update(k.done, payload);
      started = true;
      if (e.type === 'cell-end' && e.outcome.status === 'failed') bar.increment(0, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
