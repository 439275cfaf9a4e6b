import { describe, expect, test } from '@jest/globals';
import { PassThrough } from 'node:stream';
import type { StudyCell } from '@deepconf-safety/run-store';
import type { StudyCounts, StudyEvent } from '@deepconf-safety/runner';
import { createStudyProgress, statusLine } from '../src/study/progress.js';

const counts = (done: number, running: number, left: number, etaSeconds: number | null, failed = 0): StudyCounts => ({
  done,
  running,
  left,
  failed,
  etaSeconds,
});

const cell = (id: string): StudyCell =>
  ({ id, wallSeconds: 12.34, tokens: 2400, costUsd: null, emulated: true }) as unknown as StudyCell;

const end = (id: string, k: StudyCounts): StudyEvent => ({
  type: 'cell-end',
  cell: cell(id),
  outcome: { status: 'completed' },
  counts: k,
});

describe('the study status line on a terminal', () => {
  const base = { etaAt: 0, startedAt: 0, now: 0, columns: 80 };

  test.each([40, 60, 80, 120, 200])(
    'fits a %i-column terminal (a wrapped line cannot be redrawn in place)',
    (columns) => {
      const line = statusLine({ ...base, counts: counts(3, 2, 7, 95, 1), etaSeconds: 95, columns });
      expect(line.length).toBeLessThan(columns);
      if (columns >= 80) expect(line).toMatch(/3\/13 cells done, 2 running, 7 left, 1 FAILED, ETA 1m35s/);
    },
  );

  test('before any cell finished the ETA says it is unknown, not a guess', () => {
    expect(statusLine({ ...base, counts: counts(0, 2, 10, null), etaSeconds: null })).toContain(
      'ETA ? (after the first cell)',
    );
  });

  test('the ETA counts down between events and never goes negative; a finished study has none', () => {
    const k = counts(4, 2, 6, 60);
    expect(statusLine({ ...base, counts: k, etaSeconds: 60, now: 30_000 })).toContain('ETA 30s | 30s elapsed');
    expect(statusLine({ ...base, counts: k, etaSeconds: 60, now: 90_000 })).toContain('ETA any moment');
    expect(statusLine({ ...base, counts: counts(12, 0, 0, 0), etaSeconds: 0 })).toContain('ETA none, finished');
  });

  test('every finished cell gets a line above the status line, the last one included', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80 }) as unknown as NodeJS.WriteStream;
    let written = '';
    (tty as unknown as PassThrough).on('data', (d: Buffer) => {
      written += d.toString();
    });
    const p = createStudyProgress({ tty: true, write: () => undefined, stream: tty });
    p.event({ type: 'cell-start', cell: cell('a/x/s/seed-1'), counts: counts(0, 1, 1, null) });
    p.event(end('a/x/s/seed-1', counts(1, 1, 0, 5)));
    p.event(end('a/x/s/seed-2', counts(2, 0, 0, 0)));
    p.stop();
    await new Promise((r) => setImmediate(r));
    expect(written).toContain('a/x/s/seed-1 done in 12.3s, 2400 tokens [EMULATED]');
    expect(written).toContain('a/x/s/seed-2 done in 12.3s, 2400 tokens [EMULATED]');
    expect(written).toContain('2/2 cells done, 0 running, 0 left, ETA none, finished');
  });
});

describe('the study progress elsewhere (logs, CI)', () => {
  test('one line per finished cell, nothing for a start', () => {
    const lines: string[] = [];
    const p = createStudyProgress({ tty: false, write: (l) => lines.push(l) });
    p.event({ type: 'cell-start', cell: cell('a/x/s/seed-1'), counts: counts(0, 1, 1, null) });
    p.event(end('a/x/s/seed-1', counts(1, 1, 0, 5)));
    p.event(end('a/x/s/seed-2', counts(2, 0, 0, 0)));
    p.stop();
    expect(lines).toEqual([
      '[study] 1/2 cells done, 1 running, 0 left, ETA 5s | a/x/s/seed-1 done in 12.3s, 2400 tokens [EMULATED]',
      '[study] 2/2 cells done, 0 running, 0 left, ETA 0s | a/x/s/seed-2 done in 12.3s, 2400 tokens [EMULATED]',
    ]);
  });
});
