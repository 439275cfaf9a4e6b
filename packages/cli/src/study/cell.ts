import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '@deepconf-safety/run-store';
import { ExperimentJobFailure, runExperimentJob, type CellOutcome, type CellRequest } from '@deepconf-safety/runner';
import { experimentJobIo } from '../experiment/command.js';
import { OptionError, parseExperimentOptions } from '../experiment/options.js';

// A study cell is an ordinary `npm run experiment` run, so each cell directory is a run store every command
// reads. The runner schedules; this adapter parses the cell's flags into a RunConfig and runs the runner's job
// in-process (as the experiment command does), its output kept in the cell's log.

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

/** Runs one cell with the runner's job (the experiment's own I/O, no printing); its lines go to <cell>/study-cell.log. */
export async function runExperimentCell(
  req: CellRequest,
  env: Readonly<Record<string, string | undefined>>,
  apiKeyEnv: string,
): Promise<CellOutcome> {
  const log = join(req.dir, CELL_LOG);
  const write = (line: string): void => appendFileSync(log, `${line}\n`);
  const failed = (error: string): CellOutcome => {
    write(`experiment: ${error}`);
    return { status: 'failed', error };
  };
  let config: RunConfig | null;
  try {
    config = await parseExperimentOptions(cellFlags(req, apiKeyEnv));
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  }
  if (config === null) return failed('the cell flags asked for --help');
  const io = { env, out: write, err: write, tty: false, onSignal: () => () => undefined };
  try {
    const outcome = await runExperimentJob(config, experimentJobIo(config, io, req.signal));
    if (outcome.status === 'failed') return failed(outcome.redact(outcome.health.line));
    return { status: outcome.status };
  } catch (error) {
    if (error instanceof ExperimentJobFailure) return failed(error.message);
    throw error;
  }
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
