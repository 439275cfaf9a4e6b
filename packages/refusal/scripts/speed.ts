// µs per response of detectRefusal over the 900 XSTest dev responses (with prompts, rules and rules + learned).
//   npx tsx packages/refusal/scripts/speed.ts [path/to/detect.ts of another version]
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLabelledCsv } from '../src/evaluate.js';

const here = dirname(fileURLToPath(import.meta.url));
const files = ['xstest_v2_completions_gpt4.csv', 'xstest_v2_completions_llama2orig.csv'].map((f) =>
  resolve(here, '../data/xstest-completions', f),
);
const rows = files.flatMap((f) => parseLabelledCsv(readFileSync(f, 'utf8'), f));
const mod = (await import(process.argv[2] ?? '../src/detect.js')) as {
  detectRefusal: (t: string, o?: object) => unknown;
};

function measure(label: string, options: (prompt: string | null) => object): void {
  for (const r of rows) mod.detectRefusal(r.completion, options(r.prompt)); // warm-up
  const reps = 5;
  const times: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t0 = process.hrtime.bigint();
    for (const r of rows) mod.detectRefusal(r.completion, options(r.prompt));
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / rows.length);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${label}: median ${times[2]!.toFixed(1)} µs/response (min ${times[0]!.toFixed(1)}, max ${times[reps - 1]!.toFixed(1)}; ${reps} passes over ${rows.length} responses)`,
  );
}

measure('text only', () => ({}));
measure('with prompt', (p) => (p === null ? {} : { prompt: p }));
measure('with prompt, learned', (p) => ({ learned: true, ...(p === null ? {} : { prompt: p }) }));
