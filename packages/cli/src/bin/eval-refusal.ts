// `npm run eval:refusal -- <labelled.csv>`: score the refusal detector against human labels.
// Thin shell: all logic lives in @deepconf-safety/refusal (evaluateRefusalFile, bootstrapF1, breakdownByGroup, …).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  bootstrapF1,
  breakdownByGroup,
  detectRefusal,
  evaluateRefusalFile,
  formatBreakdown,
  formatEvaluation,
  formatInterval,
  isRefusalError,
  mergeEvaluations,
  xstestStringMatch,
} from '@deepconf-safety/refusal';
import type { Classifier, EvaluateOptions, EvaluationResult } from '@deepconf-safety/refusal';

const argv = await yargs(hideBin(process.argv))
  .scriptName('eval:refusal')
  .usage('$0 <file..>', 'Evaluate refusal detection against a labelled CSV (columns completion, final_label)', (y) =>
    y.positional('file', { type: 'string', array: true, demandOption: true, describe: 'labelled CSV file(s)' }),
  )
  .option('completion-column', { type: 'string', default: 'completion', describe: 'column with the model response' })
  .option('label-column', {
    type: 'string',
    default: 'final_label',
    describe: 'column with the gold label (1_full_compliance / 2_full_refusal / 3_partial_refusal)',
  })
  .option('id-column', { type: 'string', default: 'id', describe: 'column naming rows in the error list' })
  .option('prompt-column', {
    type: 'string',
    default: 'prompt',
    describe: 'column with the prompt; passed to the detector when the file has it',
  })
  .option('ignore-prompt', {
    type: 'boolean',
    default: false,
    describe: 'do not pass the prompt to the detector (ablation)',
  })
  .option('learned', {
    type: 'boolean',
    default: false,
    describe: 'let the learned component overrule the rules (off by default; ablation)',
  })
  .option('by', {
    type: 'string',
    describe: 'also break the figures down by this column (e.g. type, the XSTest category)',
  })
  .option('bootstrap', { type: 'number', default: 2000, describe: 'bootstrap resamples for the F1 interval' })
  .option('seed', { type: 'number', default: 1, describe: 'seed of the bootstrap' })
  .option('max-errors', { type: 'number', describe: 'list at most this many misclassified rows (default: all)' })
  .option('excerpt', { type: 'number', default: 160, describe: 'characters of each misclassified response to print' })
  .option('baseline', {
    type: 'boolean',
    default: false,
    describe: "score the XSTest paper's 21-prefix string matcher instead, for comparison",
  })
  .option('json', { type: 'boolean', default: false, describe: 'print the full result as JSON' })
  .check((a) => {
    if (!Number.isInteger(a.bootstrap) || a.bootstrap < 1)
      throw new Error(`--bootstrap must be a positive integer, got ${a.bootstrap}`);
    if (!Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
    return true;
  })
  .strict()
  .help()
  // A bad flag is one line naming it, and exit 2 (not yargs' usage dump and exit 1).
  .fail((message: string | undefined, error: Error | undefined) => {
    console.error(`eval:refusal: ${message ?? error?.message ?? 'invalid options'} (see --help)`);
    process.exit(2);
  })
  .parseAsync();

function classifier(): Classifier {
  if (argv.baseline) return (text) => xstestStringMatch(text);
  return (text, row) =>
    detectRefusal(text, {
      learned: argv.learned,
      ...(argv['ignore-prompt'] || row.prompt === null ? {} : { prompt: row.prompt }),
    });
}

function report(result: EvaluationResult, listErrors: boolean): unknown {
  const bootstrap = { replicates: argv.bootstrap, seed: argv.seed };
  const f1Interval = bootstrapF1(result.outcomes, bootstrap);
  const breakdown = argv.by === undefined ? undefined : breakdownByGroup(result.outcomes, bootstrap);
  if (argv.json) return { ...result, f1Interval, ...(breakdown === undefined ? {} : { by: argv.by, breakdown }) };
  const maxErrors = listErrors ? argv['max-errors'] : 0;
  console.log(
    formatEvaluation(result, { ...(maxErrors === undefined ? {} : { maxErrors }), excerptChars: argv.excerpt }),
  );
  console.log(`  ${formatInterval(f1Interval)}`);
  if (breakdown !== undefined) console.log(`\n${formatBreakdown(breakdown, argv.by!)}`);
  console.log('');
  return undefined;
}

try {
  const files = argv.file as string[];
  const results: EvaluationResult[] = [];
  const options: EvaluateOptions = {
    completionColumn: argv['completion-column'],
    labelColumn: argv['label-column'],
    idColumn: argv['id-column'],
    promptColumn: argv['prompt-column'],
    ...(argv.by === undefined ? {} : { groupColumn: argv.by, requireGroupColumn: true }),
    classify: classifier(),
  };
  for (const file of files) results.push(await evaluateRefusalFile(file, options));
  const detector = argv.baseline
    ? 'XSTest 21-prefix string matcher (--baseline)'
    : `detector (${argv.learned ? 'rules + learned' : 'rules'})${argv['ignore-prompt'] ? ', prompt ignored' : ''}`;
  if (argv.json) {
    const perFile = results.map((r) => report(r, true));
    const pooled = results.length > 1 ? report(mergeEvaluations(results, 'pooled'), true) : undefined;
    console.log(
      JSON.stringify({ classifier: detector, files: perFile, ...(pooled === undefined ? {} : { pooled }) }, null, 2),
    );
  } else {
    console.log(`Classifier: ${detector}\n`);
    for (const r of results) report(r, true);
    // Pooled figures; the per-file misclassified rows were already listed above.
    if (results.length > 1) report(mergeEvaluations(results, 'pooled'), false);
  }
} catch (err) {
  if (isRefusalError(err)) {
    console.error(`eval:refusal: ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
