// `npm run sweep -- <run dir> [options]`: offline DeepConf replay and threshold sweep (see --help). Thin shell over ../sweep-command.ts.
import { sweepCommand } from '../sweep-command.js';

process.exitCode = await sweepCommand(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
