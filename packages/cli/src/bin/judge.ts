// `npm run judge -- <run dir> --judge wildguard`: judges a finished run after the fact (see --help).
import { judgeCommand } from '../judge/command.js';
import { nodeCommandIo } from '../node-io.js';

process.exitCode = await judgeCommand(process.argv.slice(2), nodeCommandIo());
