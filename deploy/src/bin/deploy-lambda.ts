#!/usr/bin/env node
// `npm run deploy:lambda -- …`: see deploy/README.md.
import { runCli } from '../cli.js';

const controller = new AbortController();
let stoppedBy: NodeJS.Signals | null = null;
const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
// First Ctrl-C / SIGTERM / SIGHUP: stop waiting and terminate what was launched. Second: leave immediately
// (what was launched is recorded in .deploy/: --status shows it, --down ends it).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stoppedBy !== null) process.exit(128 + (SIGNAL_NUMBER[signal] ?? 0));
    stoppedBy = signal;
    process.stderr.write(
      `deploy:lambda: ${signal} received: stopping and cleaning up (send it again to leave at once)\n`,
    );
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}
// A bug that escapes the command must not leave an instance billing: abort, so the deploy's clean-up runs.
const crash = (error: unknown) => {
  process.stderr.write(
    `deploy:lambda: unexpected error: ${error instanceof Error ? error.message : String(error)}; cleaning up\n`,
  );
  process.exitCode = 1;
  controller.abort(error instanceof Error ? error : new Error(String(error)));
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  signal: controller.signal,
});
process.exitCode = stoppedBy === null ? code : 128 + (SIGNAL_NUMBER[stoppedBy] ?? 0);
