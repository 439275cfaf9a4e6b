// `npm run study -- --config experiments/<study>.json [--resume]`: a grid of experiment runs and its report. Thin shell over ../study/command.ts.
import { nodeCommandIo } from '../node-io.js';
import { studyCommand } from '../study/command.js';

process.exitCode = await studyCommand(process.argv.slice(2), { ...nodeCommandIo(), ttyStream: process.stdout });
