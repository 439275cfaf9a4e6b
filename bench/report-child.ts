// Child process of the report stage: reads (`read`) or reports (`report`, figures included) one run store and
// prints one JSON line with its wall time, CPU time and this process's peak RSS. Its own process, so the peak is the job's.
//   node --import tsx --conditions=@deepconf-safety/source bench/report-child.ts <read|report> <run dir>
import { generateReport, readRun } from '@deepconf-safety/reporting';

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'read' && mode !== 'report') || dir === undefined) {
  process.stderr.write('usage: report-child.ts <read|report> <run dir>\n');
  process.exit(2);
}
const t0 = performance.now();
const cpu0 = process.cpuUsage();
// CPU time (every thread of the process: sharp's too) holds on a loaded machine, where wall time does not.
const cpuSeconds = (): number => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1e6;
};
let traces = 0;
// The read as the report does it (only the answers it shows are kept).
if (mode === 'read') traces = readRun(dir, { texts: 'shown' }).traces.length;
else traces = (await generateReport(dir)).metrics.instances;
process.stdout.write(
  `${JSON.stringify({ mode, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds(), maxRssKiB: process.resourceUsage().maxRSS, count: traces })}\n`,
);
