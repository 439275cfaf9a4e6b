// `npm run figures -- <run dir> [--preset paper-column|paper-full|screen]`: (re)draws a run's figures (SVG, PNG,
// PDF, captions.md), report.html and report.md.
// Thin shell: all logic lives in @deepconf-safety/reporting (generateReport).
import { relative } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  EMULATED_BANNER,
  PRESET_NAMES,
  generateReport,
  isReportingError,
  type PresetName,
} from '@deepconf-safety/reporting';

const argv = await yargs(hideBin(process.argv))
  .scriptName('figures')
  .usage(
    '$0 <run>',
    "Draw a run's figures (figures/*.svg, *.png, *.pdf, captions.md) and write report.html and report.md into the run directory",
    (y) =>
      y.positional('run', {
        type: 'string',
        demandOption: true,
        describe: 'run directory (the --output of npm run experiment)',
      }),
  )
  .option('seed', { type: 'number', default: 0, describe: 'seed of the bootstrap confidence intervals' })
  .option('resamples', { type: 'number', default: 10_000, describe: 'bootstrap resamples' })
  .option('alpha', { type: 'number', default: 0.05, describe: 'significance level used in the wording' })
  .option('preset', {
    type: 'string',
    choices: PRESET_NAMES as PresetName[],
    default: 'screen',
    describe:
      'figure size: paper-column (3.25 in), paper-full (6.75 in; both in points, no title, captions in figures/captions.md) or screen (1000 px)',
  })
  .option('json', { type: 'boolean', default: false, describe: 'print the metrics and statistics as JSON' })
  .strict()
  .help()
  .parseAsync();

try {
  const report = await generateReport(argv.run as string, {
    seed: argv.seed,
    resamples: argv.resamples,
    alpha: argv.alpha,
    preset: argv.preset as PresetName,
  });
  if (argv.json) {
    console.log(
      JSON.stringify(
        { files: report.files, metrics: report.metrics, hypothesis: report.hypothesis, sweep: report.sweep },
        null,
        2,
      ),
    );
  } else {
    if (report.metrics.emulated) console.log(`*** ${EMULATED_BANNER} ***`);
    for (const s of report.hypothesis.statements) console.log(`- ${s.text}`);
    console.log(
      `figures (${report.preset}, .svg/.png/.pdf): ${report.files.figures.map((f) => relative(process.cwd(), f.png)).join(', ')}`,
    );
    console.log(`captions: ${relative(process.cwd(), report.files.captions)}`);
    console.log(
      `report:  ${relative(process.cwd(), report.files.html)}, ${relative(process.cwd(), report.files.markdown)}`,
    );
  }
} catch (error) {
  if (!isReportingError(error)) throw error;
  console.error(`figures: ${error.message}`);
  process.exitCode = 2;
}
