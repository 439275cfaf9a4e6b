// Memory (issue 9 §4): peak RSS of a runner process over a short and a long run; flat = the long run's peak is
// close to the short one's.
import { spawn } from 'node:child_process';
import { BenchMeasurementError } from './errors.js';
import type { EmulatorProcess } from './emulator-process.js';
import { REPO_ROOT, tsxNodeArgs } from './paths.js';

export type MemoryOptions = {
  /** Traces of the long run (the headline) and of the short one it is compared with. */
  traces: number;
  shortTraces: number;
  tracesPerPrompt: number;
  concurrency: number;
};

export type MemoryResult = {
  peakRssMiB: number;
  traces: number;
  details: {
    short: ChildReport & { peakRssMiB: number };
    long: ChildReport & { peakRssMiB: number };
    /** long peak / short peak: 1.0 = flat in run length. */
    rssRatio: number;
    /** The run lengths compared (long / short). */
    lengthRatio: number;
  };
};

type ChildReport = { maxRssKiB: number; heapUsedMiB: number; traces: number; tokens: number; wallSeconds: number };

function runChild(emu: EmulatorProcess, instances: number, traces: number, concurrency: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...tsxNodeArgs(),
        'bench/memory-child.ts',
        emu.baseURL,
        emu.model,
        String(instances),
        String(traces),
        String(concurrency),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VLLM_API_KEY: undefined } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', (e) =>
      reject(new BenchMeasurementError(`memory: could not start the runner child (${e.message})`)),
    );
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0)
        return reject(
          new BenchMeasurementError(`memory: the runner child exited with code ${String(code)}: ${err.trim()}`),
        );
      try {
        resolve(JSON.parse(line) as ChildReport);
      } catch {
        reject(
          new BenchMeasurementError(
            `memory: the runner child printed no JSON report (got ${JSON.stringify(line.slice(0, 200))}): ${err.trim()}`,
          ),
        );
      }
    });
  });
}

export async function measureMemory(emu: EmulatorProcess, o: MemoryOptions): Promise<MemoryResult> {
  const shortRun = await runChild(emu, Math.ceil(o.shortTraces / o.tracesPerPrompt), o.tracesPerPrompt, o.concurrency);
  const longRun = await runChild(emu, Math.ceil(o.traces / o.tracesPerPrompt), o.tracesPerPrompt, o.concurrency);
  const mib = (r: ChildReport) => ({ ...r, peakRssMiB: r.maxRssKiB / 1024 });
  return {
    peakRssMiB: longRun.maxRssKiB / 1024,
    traces: longRun.traces,
    details: {
      short: mib(shortRun),
      long: mib(longRun),
      rssRatio: longRun.maxRssKiB / shortRun.maxRssKiB,
      lengthRatio: longRun.traces / shortRun.traces,
    },
  };
}
