import type { CommandIo } from './experiment/command.js';

/**
 * The process's own I/O for a command: its environment, stdout and stderr a line at a time, whether stdout is
 * a terminal, and SIGINT / SIGTERM (the unregister function removes both listeners again). Commands take I/O
 * as an argument so that tests can give them their own; the bin scripts give them this.
 */
export function nodeCommandIo(): CommandIo {
  return {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    tty: process.stdout.isTTY === true,
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
  };
}
