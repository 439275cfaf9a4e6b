// Report stage (issue 15 "read once"): a synthetic run store of 10,000 prompts x 8 traces is read, then reported
// (metrics, statistics, threshold replay, figures, report.html/.md), each in a child process of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchMeasurementError } from './errors.js';
import { REPO_ROOT, tsxNodeArgs } from './paths.js';
import { writeSyntheticStore, type StoreShape } from './report-store.js';

export type ReportReadOptions = StoreShape;

type ChildReport = {
  mode: 'read' | 'report';
  wallSeconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  count: number;
};

export type ReportReadResult = {
  prompts: number;
  traces: number;
  storeMiB: number;
  tokens: { min: number; max: number };
  generateSeconds: number;
  /** Wall and CPU seconds (the child's every thread) from the start of the job, modules already loaded. */
  read: { wallSeconds: number; cpuSeconds: number; peakRssMiB: number };
  report: { wallSeconds: number; cpuSeconds: number; peakRssMiB: number };
  /** The machine's load average when the report child started (the wall times depend on it, CPU times less). */
  loadAverage: number[];
};

function runChild(mode: 'read' | 'report', dir: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=4096', ...tsxNodeArgs(), 'bench/report-child.ts', mode, dir],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', (e) => reject(new BenchMeasurementError(`report: could not start the child (${e.message})`)));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0)
        return reject(
          new BenchMeasurementError(`report: the ${mode} child exited with code ${String(code)}: ${err.trim()}`),
        );
      try {
        resolve(JSON.parse(line) as ChildReport);
      } catch {
        reject(new BenchMeasurementError(`report: the ${mode} child printed no JSON report: ${err.trim()}`));
      }
    });
  });
}

export async function measureReportRead(
  o: ReportReadOptions,
  log: (line: string) => void = () => undefined,
): Promise<ReportReadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const run = join(dir, 'run');
    const t0 = performance.now();
    writeSyntheticStore(run, o);
    const generateSeconds = (performance.now() - t0) / 1000;
    const storeMiB = (statSync(join(run, 'traces.jsonl')).size + statSync(join(run, 'instances.jsonl')).size) / 2 ** 20;
    log(
      `report: store of ${o.prompts} x ${o.tracesPerPrompt} written (${storeMiB.toFixed(0)} MiB, ${generateSeconds.toFixed(1)} s); reading, then reporting`,
    );
    const read = await runChild('read', run);
    const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
    const report = await runChild('report', run);
    const mib = (c: ChildReport) => ({
      wallSeconds: c.wallSeconds,
      cpuSeconds: c.cpuSeconds,
      peakRssMiB: c.maxRssKiB / 1024,
    });
    return {
      prompts: o.prompts,
      traces: read.count,
      storeMiB,
      tokens: { min: o.minTokens, max: o.maxTokens },
      generateSeconds,
      read: mib(read),
      report: mib(report),
      loadAverage,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
