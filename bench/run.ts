// `npm run bench [-- --quick] [--out FILE]`: issue 9's benchmarks against the emulator in child processes; writes
// bench/results.json and prints a short table. Not part of `npm test` (CI machines are too noisy for figures).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runBench, SIZES } from './bench.js';
import { BenchOptionError, isBenchError } from './errors.js';
import { REPO_ROOT } from './paths.js';
import { formatReportRow, formatTable, reportGoal } from './report.js';
import { measureReportRead } from './report-read.js';

const HELP = `Usage: npm run bench -- [--quick] [--out FILE] [--only report]

Runs the client benchmarks of issue 9 against the emulator in child processes:
stream throughput (vs raw JSON.parse), abort latency, saturation of a 256-sequence batch,
peak RSS of a 10,000-trace run, an XSTest 450 x 8 end-to-end run, and that run again with
two client threads (--client-threads 2), and the report of a synthetic 10,000 x 8 run store.

  --quick      every stage at small sizes (under a minute)
  --out FILE   where to write the results (default bench/results.json)
  --only report  only the report stage; its result replaces reportRead in the results file
  -h, --help
`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean' },
        out: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new BenchOptionError(`${(e as Error).message}. See --help.`);
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.out === '') throw new BenchOptionError('--out: give a file path, e.g. --out /tmp/bench.json');
  const out = values.out === undefined ? resolve(REPO_ROOT, 'bench/results.json') : resolve(values.out);
  if (values.only !== undefined) {
    if (values.only !== 'report')
      throw new BenchOptionError(`--only ${values.only}: the stage that runs alone is "report"`);
    const config = (values.quick === true ? SIZES.quick : SIZES.full).reportRead!;
    const reportRead = await measureReportRead(config, (line) => process.stderr.write(`bench: ${line}\n`));
    // Merged into the results of the last full run, so the file keeps every stage.
    const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
    writeFileSync(
      out,
      `${JSON.stringify({ ...previous, reportRead, reportReadGoal: reportGoal(reportRead) }, null, 2)}\n`,
    );
    process.stdout.write(`${formatReportRow(reportRead)}\nresults: ${out}\n`);
    return 0;
  }
  const results = await runBench(values.quick === true ? SIZES.quick : SIZES.full, (line) =>
    process.stderr.write(`bench: ${line}\n`),
  );
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${formatTable(results)}\nresults: ${out}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${isBenchError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(isBenchError(error) && error instanceof BenchOptionError ? 2 : 1);
  },
);
