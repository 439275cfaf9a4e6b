import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellOutcome, CellRequest } from '@deepconf-safety/runner';
import { EXIT, experimentCommand } from '../experiment/command.js';
import { OptionError, parseExperimentOptions } from '../experiment/options.js';

// A study cell is an ordinary `npm run experiment` run, so each cell directory is a run store every command
// reads. The runner schedules; this adapter runs the experiment in-process, its output kept in the cell's log.

export const CELL_LOG = 'study-cell.log';

/** Flags every cell gets from the study: its directory, its endpoint, no per-cell report (the study has one). */
function cellFlags(req: CellRequest, apiKeyEnv: string): string[] {
  return [
    ...req.argv,
    '--output',
    req.dir,
    '--base-url',
    req.endpoint,
    '--api-key-env',
    apiKeyEnv,
    '--no-report',
    ...(req.resume ? ['--resume'] : []),
  ];
}

/** Runs one cell with the experiment command; its lines go to <cell>/study-cell.log. */
export async function runExperimentCell(
  req: CellRequest,
  env: Readonly<Record<string, string | undefined>>,
  apiKeyEnv: string,
): Promise<CellOutcome> {
  const log = join(req.dir, CELL_LOG);
  let lastError = '';
  const write = (line: string): void => appendFileSync(log, `${line}\n`);
  const code = await experimentCommand(cellFlags(req, apiKeyEnv), {
    env,
    out: write,
    err: (line) => {
      if (line.trim() !== '') lastError = line.trim();
      write(line);
    },
    tty: false,
    onSignal(handler) {
      const onAbort = (): void => handler('SIGINT');
      req.signal.addEventListener('abort', onAbort, { once: true });
      return () => req.signal.removeEventListener('abort', onAbort);
    },
  });
  if (code === EXIT.ok) return { status: 'completed' };
  if (code === EXIT.interrupted) return { status: 'interrupted' };
  return { status: 'failed', error: lastError || `experiment exited ${code} (see ${log})` };
}

/** Checks a cell's flags with the experiment's own parser, so a bad setting stops the study before anything runs. */
export async function checkCellFlags(argv: readonly string[]): Promise<string | null> {
  try {
    await parseExperimentOptions([...argv, '--output', 'x', '--no-report']);
    return null;
  } catch (error) {
    if (error instanceof OptionError) return error.message;
    throw error;
  }
}
