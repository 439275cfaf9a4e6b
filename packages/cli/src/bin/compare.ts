// `npm run compare -- <run dir> <run dir> ...`: one table and one figure across runs.
// Thin shell: all logic lives in @deepconf-safety/reporting (compareRuns).
import { dirname, join, relative, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { compareRuns, isReportingError } from '@deepconf-safety/reporting';

const argv = await yargs(hideBin(process.argv))
  .scriptName('compare')
  .usage(
    '$0 <runs..>',
    'Compare runs (model sizes, DeepConf-low vs -high): writes comparison.md, .html, .svg and .png',
    (y) => y.positional('runs', { type: 'string', array: true, demandOption: true, describe: 'run directories' }),
  )
  .option('output', {
    type: 'string',
    describe: 'directory for the comparison files (default: <parent of the first run>/comparison)',
  })
  .option('seed', { type: 'number', default: 0, describe: 'seed of the bootstrap confidence intervals' })
  .option('resamples', { type: 'number', default: 10_000, describe: 'bootstrap resamples' })
  .strict()
  .help()
  .parseAsync();

try {
  const runs = argv.runs as string[];
  const outDir = argv.output ?? join(dirname(resolve(runs[0]!)), 'comparison');
  const result = await compareRuns(runs, { outDir, seed: argv.seed, resamples: argv.resamples });
  console.log(result.markdown);
  if (result.files)
    console.log(
      `written: ${Object.values(result.files)
        .map((f) => relative(process.cwd(), f))
        .join(', ')}`,
    );
} catch (error) {
  if (!isReportingError(error)) throw error;
  console.error(`compare: ${error.message}`);
  process.exitCode = 2;
}
