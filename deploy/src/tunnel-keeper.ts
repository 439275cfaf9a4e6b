import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { DeployConfigError } from './errors.js';
import { tunnelArgs, type SshTarget } from './ssh.js';
import {
  deploymentDir,
  keeperLogPath,
  knownHostsPath,
  readDeploymentRecord,
  readTunnelStatus,
  writeTunnelStatus,
  type DeploymentRecord,
  type TunnelStatus,
} from './state.js';

const keeperPidPath = (stateDir: string, name: string) => join(deploymentDir(stateDir, name), 'keeper.pid');

export function sshTargetOf(stateDir: string, record: DeploymentRecord): SshTarget {
  return {
    host: record.host,
    user: record.sshUser,
    port: record.sshPort,
    identityFile: record.identityFile,
    knownHostsFile: resolve(knownHostsPath(stateDir, record.name)),
    serverAliveIntervalS: record.tunnel.serverAliveIntervalS,
  };
}

/**
 * Starts the keeper as a detached process so the tunnel outlives `deploy:lambda` and serves later
 * `npm run experiment` runs; returns its pid (also written to `<name>/keeper.pid`).
 */
export async function spawnTunnelKeeper(stateDir: string, name: string): Promise<number> {
  const here = fileURLToPath(import.meta.url);
  const args = here.endsWith('.ts')
    ? [
        '--import',
        pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
        join(dirname(here), 'bin', 'tunnel-keeper.ts'),
      ]
    : [join(dirname(here), 'bin', 'tunnel-keeper.js')];
  const log = openSync(keeperLogPath(stateDir, name), 'a', 0o600);
  try {
    const child = spawn(process.execPath, [...args, '--state-dir', resolve(stateDir), '--name', name], {
      detached: true,
      stdio: ['ignore', log, log],
      // The keeper needs no secrets: keep the caller's keys out of its environment.
      env: withoutSecrets(process.env),
    });
    child.unref();
    if (child.pid === undefined) throw new DeployConfigError(`could not start the tunnel keeper for ${name}`);
    await writeFile(keeperPidPath(stateDir, name), `${child.pid}\n`, { mode: 0o600 });
    return child.pid;
  } finally {
    closeSync(log);
  }
}

function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const key of ['LAMBDA_API_KEY', 'HF_TOKEN', 'VLLM_API_KEY', 'HUGGING_FACE_HUB_TOKEN']) delete copy[key];
  return copy;
}

/** Stops the keeper (and its ssh, should the keeper have died without it). Safe to call twice. */
export async function stopTunnelKeeper(stateDir: string, name: string, sleep = defaultSleep): Promise<void> {
  const pids: number[] = [];
  try {
    pids.push(Number((await readFile(keeperPidPath(stateDir, name), 'utf8')).trim()));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const status = await readTunnelStatus(stateDir, name).catch(() => null);
  if (status?.sshPid) pids.push(status.sshPid);
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 1 || !isOurProcess(pid)) continue;
    signal(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
    if (alive(pid)) signal(pid, 'SIGKILL');
  }
}

// A pid file can outlive its process and the pid be reused: only signal what still looks like ours.
function isOurProcess(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('tunnel-keeper') || cmdline.includes('ssh');
  } catch {
    return true; // no /proc (macOS): trust the pid file
  }
}

/** True while the process runs; a zombie (exited, not yet reaped by a container's minimal init) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name before it is in parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
const alive = processAlive;

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/**
 * The keeper loop: run `ssh -N -L`, and when it exits, start it again with backoff. Gives up after
 * `maxAttempts` consecutive attempts that never got the port listening, recording a message that
 * `--status` shows.
 */
export async function runTunnelKeeper(stateDir: string, name: string): Promise<number> {
  const record = await readDeploymentRecord(stateDir, name);
  if (record === null) throw new DeployConfigError(`no deployment "${name}" in ${stateDir}`);
  const args = tunnelArgs(sshTargetOf(stateDir, record), record.localPort, record.remotePort);
  let restarts = 0;
  let failures = 0;
  let stopping = false;
  let child: { kill(signal: NodeJS.Signals): boolean } | null = null;
  const report = (status: TunnelStatus['status'], message: string | null, sshPid: number | null) =>
    writeTunnelStatus(stateDir, name, {
      status,
      keeperPid: process.pid,
      sshPid,
      restarts,
      message,
      updatedAt: new Date().toISOString(),
    });
  const stop = () => {
    stopping = true;
    child?.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);

  while (!stopping) {
    await report(restarts === 0 ? 'starting' : 'reconnecting', null, null);
    const ssh = execa('ssh', args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: true });
    child = ssh;
    let exited = false;
    const done = ssh.then((r) => {
      exited = true;
      return r;
    });
    let up = false;
    while (!exited && !stopping) {
      if (await portAccepts(record.localPort)) {
        up = true;
        break;
      }
      await defaultSleep(100);
    }
    if (up && !exited) {
      failures = 0;
      await report('up', null, ssh.pid ?? null);
      console.log(
        `${new Date().toISOString()} tunnel up: 127.0.0.1:${record.localPort} -> ${record.host}:${record.remotePort}`,
      );
    }
    const result = await done;
    child = null;
    if (stopping) break;
    const reason =
      String(result.stderr ?? '')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' ') || `ssh exited with code ${result.exitCode ?? result.signal}`;
    console.log(`${new Date().toISOString()} tunnel down: ${reason}`);
    if (!up) failures++;
    if (failures >= record.tunnel.maxAttempts) {
      await report(
        'failed',
        `SSH tunnel to ${record.sshUser}@${record.host}:${record.sshPort} dropped and could not be re-established after ${failures} attempts (${reason}). ` +
          `Check the host, then run "npm run deploy:lambda -- --down" to terminate it (billing continues until you do).`,
        null,
      );
      return 1;
    }
    restarts++;
    await report('reconnecting', reason, null);
    await defaultSleep(Math.min(record.tunnel.backoffMs * 2 ** Math.max(0, failures - 1), 30_000));
  }
  await report('stopped', null, null);
  return 0;
}
