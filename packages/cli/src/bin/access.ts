// `npm run access -- <benchmark>`: can this machine read the benchmark, and does it carry refusal labels?
// Thin shell: all logic lives in @deepconf-safety/datasets (checkAccess, formatAccessReport).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BENCHMARKS, checkAccess, formatAccessReport, isDatasetError } from '@deepconf-safety/datasets';

const argv = await yargs(hideBin(process.argv))
  .scriptName('access')
  .usage(
    '$0 [benchmark]',
    'Check the Hugging Face token, that the dataset can be read, and that its refusal labels are present',
    (y) =>
      y.positional('benchmark', {
        type: 'string',
        default: 'xstest',
        describe: `one of ${BENCHMARKS.join(', ')}, or a file path`,
      }),
  )
  .option('config', {
    type: 'string',
    describe: 'hub config (toxicchat0124 | toxicchat1123 | wildguardtest | wildguardtrain)',
  })
  .option('split', { type: 'string', describe: 'split (train | test; all | test | val for harmbench)' })
  .option('revision', { type: 'string', describe: 'hub revision: branch, tag or commit (default main)' })
  .option('path', { type: 'string', describe: 'local file instead of the shipped copy or the hub' })
  .option('json', { type: 'boolean', default: false, describe: 'print the checks as JSON' })
  .strict()
  .help()
  .parseAsync();

try {
  const benchmark = argv.benchmark as string;
  const checks = await checkAccess(benchmark, {
    ...(argv.config === undefined ? {} : { config: argv.config }),
    ...(argv.split === undefined ? {} : { split: argv.split }),
    ...(argv.revision === undefined ? {} : { revision: argv.revision }),
    ...(argv.path === undefined ? {} : { path: argv.path }),
  });
  console.log(argv.json ? JSON.stringify(checks, null, 2) : formatAccessReport(benchmark, checks));
  process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
} catch (error) {
  console.error(isDatasetError(error) ? `error: ${error.message}` : error);
  process.exitCode = 2;
}
