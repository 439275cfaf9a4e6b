// `npm run eval:refusal -- <labelled.csv>`: score the refusal detector against human labels.
// Thin shell: all logic lives in @deepconf-safety/refusal (evaluateRefusalFile, formatEvaluation).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { evaluateRefusalFile, formatEvaluation, isRefusalError, mergeEvaluations, xstestStringMatch } from '@deepconf-safety/refusal';
import type { EvaluateOptions, EvaluationResult } from '@deepconf-safety/refusal';

const argv = await yargs(hideBin(process.argv))
  .scriptName('eval:refusal')
  .usage('$0 <file..>', 'Evaluate refusal detection against a labelled CSV (columns completion, final_label)', (y) =>
    y.positional('file', { type: 'string', array: true, demandOption: true, describe: 'labelled CSV file(s)' }),
  )
  .option('completion-column', { type: 'string', default: 'completion', describe: 'column with the model response' })
  .option('label-column', { type: 'string', default: 'final_label', describe: 'column with the gold label (1_full_compliance / 2_full_refusal / 3_partial_refusal)' })
  .option('id-column', { type: 'string', default: 'id', describe: 'column naming rows in the error list' })
  .option('max-errors', { type: 'number', describe: 'list at most this many misclassified rows (default: all)' })
  .option('excerpt', { type: 'number', default: 160, describe: 'characters of each misclassified response to print' })
  .option('baseline', { type: 'boolean', default: false, describe: "score the XSTest paper's 21-prefix string matcher instead, for comparison" })
  .option('json', { type: 'boolean', default: false, describe: 'print the full result as JSON' })
  .strict()
  .help()
  .parseAsync();

try {
  const results: EvaluationResult[] = [];
  for (const file of argv.file as string[]) {
    const options: EvaluateOptions = {
      completionColumn: argv['completion-column'],
      labelColumn: argv['label-column'],
      idColumn: argv['id-column'],
      ...(argv.baseline ? { classify: (text: string) => xstestStringMatch(text) } : {}),
    };
    const result = await evaluateRefusalFile(file, options);
    results.push(result);
    if (argv.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      console.log(formatEvaluation(result, { ...(argv['max-errors'] === undefined ? {} : { maxErrors: argv['max-errors'] }), excerptChars: argv.excerpt }));
      console.log('');
    }
  }
  if (results.length > 1 && !argv.json) {
    // Pooled figures; the per-file misclassified rows were already listed above.
    console.log(formatEvaluation(mergeEvaluations(results), { maxErrors: 0 }));
  }
} catch (err) {
  if (isRefusalError(err)) {
    console.error(`eval:refusal: ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
