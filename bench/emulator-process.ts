// The emulator runs in a child process so that its CPU time never counts as the client's (issue 9), and so that
// client and server compete for cores the way they would on a real GPU box (where the server is another process).
import { spawn } from 'node:child_process';
import { BenchError } from './errors.js';
import { REPO_ROOT, tsxNodeArgs } from './paths.js';
import { parseMetrics, type EmulatorMetrics } from './metrics.js';

export type EmulatorProcessOptions = {
  /** Decode speed per sequence (tokens/s); omitted = as fast as the emulator can. */
  tokensPerSecond?: number;
  /** Batch size (vLLM --max-num-seqs). Default 256. */
  maxNumSeqs?: number;
  /** Time to first token, ms. Default 0. */
  ttftMs?: number;
  /** Served model name. */
  model?: string;
  /** Extra node flags for the child, e.g. `--cpu-prof` to profile the emulator. */
  nodeArgs?: readonly string[];
  /** How long to wait for the "serving … at URL" line before giving up. Default 30 s. */
  startTimeoutMs?: number;
};

export type EmulatorProcess = {
  /** http://127.0.0.1:PORT/v1 */
  baseURL: string;
  url: string;
  model: string;
  pid: number;
  /** Reads /metrics over HTTP. */
  metrics(): Promise<EmulatorMetrics>;
  /** The last 2 000 characters the emulator wrote to stderr (a crash's stack, for instance). */
  stderrTail(): string;
  /** Exit code or signal once it exited, else null. */
  exitStatus(): string | null;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
};

export const BENCH_MODEL = 'Qwen/Qwen3-8B';

/** Spawns `packages/emulator/src/bin/emulator.ts` on a free port and resolves once it listens. */
export async function startEmulatorProcess(options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  const model = options.model ?? BENCH_MODEL;
  const args = [
    ...(options.nodeArgs ?? []),
    ...tsxNodeArgs(),
    'packages/emulator/src/bin/emulator.ts',
    '--port',
    '0',
    '--model',
    model,
    // The client asks for K+1 = 21 alternatives over chat (exact top-20), as it would of vLLM with --max-logprobs 21.
    '--max-logprobs',
    '21',
    '--max-num-seqs',
    String(options.maxNumSeqs ?? 256),
    '--ttft-ms',
    String(options.ttftMs ?? 0),
  ];
  if (options.tokensPerSecond !== undefined && Number.isFinite(options.tokensPerSecond))
    args.push('--tokens-per-second', String(options.tokensPerSecond));
  // VLLM_API_KEY is left out of the child's environment: the bench runs without auth and must never handle a key.
  const env: Record<string, string | undefined> = { ...process.env, VLLM_API_KEY: undefined };
  // node:child_process rather than execa: bench/ is not a workspace, and the root resolves only execa@5 (a transitive
  // dependency), so execa@9's API is not importable from here.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // A failed spawn emits 'error' and no 'exit'.
    child.once('error', () => resolve(null));
  });
  // The emulator must not outlive the bench, even when the bench dies of an uncaught error.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stderr = child.stderr;
  if (child.pid === undefined) throw new BenchError('could not spawn the emulator process');
  let seen = '';
  let tail = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new BenchError(
          `the emulator did not report its address within ${options.startTimeoutMs ?? 30_000} ms; its output was: ${seen.slice(-500)}`,
        ),
      );
    }, options.startTimeoutMs ?? 30_000);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = /at (http:\/\/[^\s/]+)\/v1/.exec(seen);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        stderr.off('data', onData);
        // Keep draining stderr (a full pipe would block the child), keeping its tail for error messages.
        stderr.on('data', (more: Buffer) => {
          tail = (tail + more.toString()).slice(-2000);
        });
        resolve(m[1]);
      }
    };
    stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new BenchError(`the emulator exited before listening (code ${String(code)}): ${seen.slice(-500)}`));
    });
  });
  const pid = child.pid;
  let stopped: Promise<void> | null = null;
  return {
    url,
    baseURL: `${url}/v1`,
    model,
    pid,
    stderrTail: () => tail,
    exitStatus: () =>
      child.exitCode !== null
        ? `code ${child.exitCode}`
        : child.signalCode !== null
          ? `signal ${child.signalCode}`
          : null,
    async metrics() {
      const res = await fetch(`${url}/metrics`);
      if (!res.ok) throw new BenchError(`GET ${url}/metrics answered ${res.status}`);
      return parseMetrics(await res.text());
    },
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        process.off('exit', killOnExit);
      })();
      return stopped;
    },
  };
}
