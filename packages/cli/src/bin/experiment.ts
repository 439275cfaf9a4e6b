// `npm run experiment -- [options]`: DeepConf online over a benchmark (see --help). Thin shell over ../experiment/command.ts.
import { experimentCommand } from '../experiment/command.js';
import { nodeCommandIo } from '../node-io.js';

process.exitCode = await experimentCommand(process.argv.slice(2), nodeCommandIo());
