// `npm run experiment` in the test's own process (no child start-up cost), for tests that need a recorded run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions } from '@deepconf-safety/emulator';
import { experimentCommand } from '../../src/experiment/command.js';

export interface InProcessRun {
  exitCode: number;
  out: string[];
  err: string[];
}

export interface InProcessOptions {
  /** Where `.deploy/` is looked up (default: a new empty directory, so no deployment of this machine's is used). */
  deployStateDir?: string;
  /** The environment the command sees (default: empty, so no API key of this machine's is used). */
  env?: Record<string, string>;
}

/** Runs `npm run experiment` with `argv` in this process and collects its lines. */
export async function experimentInProcess(
  argv: readonly string[],
  options: InProcessOptions = {},
): Promise<InProcessRun> {
  const out: string[] = [];
  const err: string[] = [];
  const exitCode = await experimentCommand(argv, {
    env: options.env ?? {},
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    tty: false,
    onSignal: () => () => undefined,
    deployStateDir: options.deployStateDir ?? mkdtempSync(join(tmpdir(), 'no-deploy-')),
  });
  return { exitCode, out, err };
}

/** Records a run with {@link experimentInProcess}; a run that does not exit 0 throws with its stderr. */
export async function recordRun(argv: readonly string[], options: InProcessOptions = {}): Promise<void> {
  const r = await experimentInProcess(argv, options);
  if (r.exitCode !== 0) throw new Error(`experiment failed (${r.exitCode}): ${r.err.join('\n')}`);
}

/**
 * A new temporary directory (named `prefix…`) and an emulator on loopback serving 21 logprobs, with `options`
 * added; the emulator is closed when `body` ends. The directory is left for the test to read.
 */
export async function withEmulator<T>(
  prefix: string,
  options: EmulatorOptions,
  body: (dir: string, baseURL: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const emulator = await startEmulator({ port: 0, host: '127.0.0.1', maxLogprobs: 21, ...options });
  try {
    return await body(dir, emulator.baseURL);
  } finally {
    await emulator.close();
  }
}
