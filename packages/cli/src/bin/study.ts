// `npm run study -- --config experiments/<study>.json [--resume]`: a grid of experiment runs and its report. Thin shell over ../study/command.ts.
import { studyCommand } from '../study/command.js';

process.exitCode = await studyCommand(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  tty: process.stdout.isTTY === true,
  ttyStream: process.stdout,
  onSignal(handler) {
    const onInt = () => handler('SIGINT');
    const onTerm = () => handler('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    return () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  },
});
