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

type CellEnd = Extract<StudyEvent, { type: 'cell-end' }>;

/** What became of one cell, e.g. "Qwen_Qwen3-4B/xstest/baseline/seed-1 done in 12.3s, 24028 tokens [EMULATED]". */
function cellResult(e: CellEnd): string {
  const c = e.cell;
  const what =
    e.outcome.status === 'completed'
      ? 'done'
      : e.outcome.status === 'interrupted'
        ? 'interrupted'
        : `FAILED (${e.outcome.error ?? 'see its study-cell.log'})`;
  const cost = c.costUsd === null ? '' : `, $${c.costUsd.toFixed(2)}`;
  return `${c.id} ${what} in ${c.wallSeconds.toFixed(1)}s, ${c.tokens ?? 0} tokens${cost}${c.emulated ? ' [EMULATED]' : ''}`;
}

function countsText(k: StudyCounts, eta: string): string {
  return `${k.done}/${total(k)} cells done, ${k.running} running, ${k.left} left${k.failed > 0 ? `, ${k.failed} FAILED` : ''}, ETA ${eta}`;
}

function budgetLine(e: Extract<StudyEvent, { type: 'budget-stop' }>): string {
  return `[study] budget: projected $${e.projectedUsd.toFixed(2)} would pass --max-cost-usd ${e.maxCostUsd}; no more cells are launched`;
}

/** One line per finished cell (logs, CI, files): counts, ETA and the cell. */
function lineProgress(write: (line: string) => void): StudyProgress {
  return {
    event(e) {
      if (e.type === 'cell-end')
        write(`[study] ${countsText(e.counts, formatDuration(e.counts.etaSeconds))} | ${cellResult(e)}`);
      if (e.type === 'budget-stop') write(budgetLine(e));
    },
    stop() {},
  };
}

export interface StatusLineInput {
  counts: StudyCounts;
  /** The ETA as of `etaAt`, counted down since (null before the first cell finished). */
  etaSeconds: number | null;
  etaAt: number;
  startedAt: number;
  now: number;
  /** Terminal width: the line never wraps (a wrapped line cannot be redrawn in place). */
  columns: number;
}

/**
 * The study's one-line status on a terminal: counts, ETA and elapsed first, then a bar in the width left. Before
 * any cell has finished there is no pace to go by, so the ETA says so rather than guessing; an estimate that has
 * run out shows as "any moment", not as a negative or frozen number.
 */
export function statusLine(x: StatusLineInput): string {
  const k = x.counts;
  const remaining = x.etaSeconds === null ? null : x.etaSeconds - (x.now - x.etaAt) / 1000;
  const eta =
    k.running + k.left === 0
      ? 'none, finished'
      : remaining === null
        ? '? (after the first cell)'
        : remaining < 1
          ? 'any moment'
          : formatDuration(remaining);
  const text = `${countsText(k, eta)} | ${formatDuration((x.now - x.startedAt) / 1000)} elapsed`;
  const width = Math.min(30, x.columns - text.length - 3);
  if (width < 5) return text.slice(0, Math.max(0, x.columns - 1));
  const n = total(k);
  const full = n === 0 ? width : Math.round((width * (k.done + k.failed)) / n);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}  ${text}`;
}

export interface StudyProgressOptions {
  tty: boolean;
  write(line: string): void;
  /** The terminal (TTY only; default process.stdout). */
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

/** On a terminal: a line per finished cell above a status line redrawn in place (cells done / running / left, ETA). */
function terminalProgress(o: StudyProgressOptions): StudyProgress {
  const stream = o.stream ?? process.stdout;
  const now = o.now ?? Date.now;
  const startedAt = now();
  let counts: StudyCounts = { done: 0, running: 0, left: 0, failed: 0, etaSeconds: null };
  let etaAt = startedAt;
  const bars = new cliProgress.MultiBar({
    stream,
    hideCursor: true,
    clearOnComplete: false,
    fps: 2,
    format: (_options, params) =>
      statusLine({ counts, etaSeconds: counts.etaSeconds, etaAt, startedAt, now: now(), columns: params.maxWidth }),
  });
  let bar: cliProgress.SingleBar | null = null;
  return {
    event(e) {
      counts = e.counts;
      etaAt = now();
      bar ??= bars.create(total(e.counts), 0);
      bar.update(e.counts.done + e.counts.failed);
      if (e.type === 'cell-end') bars.log(`${cellResult(e)}\n`);
      if (e.type === 'budget-stop') bars.log(`${budgetLine(e)}\n`);
    },
    stop() {
      if (bar === null) return;
      // A redraw prints the lines logged since the last one (the last cell's among them); stop() alone drops them.
      bars.update();
      bars.stop();
    },
  };
}

/** The whole study on a terminal (status line: cells done / running / left, ETA); one line per finished cell otherwise. */
export function createStudyProgress(options: StudyProgressOptions): StudyProgress {
  return options.tty ? terminalProgress(options) : lineProgress(options.write);
}
