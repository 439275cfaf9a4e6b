// Child process of the memory stage: one runner experiment of a given size against an emulator that is already
// running; prints one JSON line with this process's peak RSS. Its own process, so the peak is the run's alone.
//   node --import tsx --conditions=@deepconf-safety/source bench/memory-child.ts <baseURL> <model> <instances> <traces> <concurrency>
import { runBenchExperiment } from './experiment.js';
import { cycleInstances, xstestInstances } from './prompts.js';

const [baseURL, model, instances, traces, concurrency] = process.argv.slice(2);
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`memory-child: ${name} must be a positive integer, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
};
if (baseURL === undefined || model === undefined) {
  process.stderr.write('usage: memory-child.ts <baseURL> <model> <instances> <traces> <concurrency>\n');
  process.exit(2);
}
const run = await runBenchExperiment({
  baseURL,
  model,
  instances: cycleInstances(await xstestInstances(), int('instances', instances)),
  traces: int('traces', traces),
  warmup: Math.min(4, int('traces', traces)),
  // Short traces: memory is about how many traces a run holds, not how long each one is.
  window: 16,
  maxTokens: 48,
  concurrency: int('concurrency', concurrency),
  sampleEveryMs: 0,
});
process.stdout.write(
  `${JSON.stringify({
    maxRssKiB: process.resourceUsage().maxRSS,
    heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
    traces: run.results.overall.traces,
    tokens: run.results.overall.total_tokens,
    wallSeconds: run.wallSeconds,
  })}\n`,
);
