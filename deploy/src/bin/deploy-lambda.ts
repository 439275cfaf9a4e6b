#!/usr/bin/env node
// `npm run deploy:lambda -- …`: see deploy/README.md.
import { runCli } from '../cli.js';

const controller = new AbortController();
let interrupted = false;
// First Ctrl-C: stop waiting and clean up what was launched. Second: leave immediately.
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new Error('interrupted'));
});

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  signal: controller.signal,
});
process.exitCode = code;
