// A real OpenSSH server on 127.0.0.1 for the e2e tests: its own host key, config and authorized_keys,
// with the `docker` / `nvidia-smi` stand-ins first in PATH of every session.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const REPO_ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
export const FAKE_HOST_DIR = join(REPO_ROOT, 'deploy/test/fixtures/fake-host');

export function findSshd(): string | null {
  for (const candidate of ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'])
    if (existsSync(candidate)) return candidate;
  return null;
}

export type Sshd = {
  port: number;
  user: string;
  identityFile: string;
  /** FAKE_HOST_STATE: where the docker stand-in keeps pids, logs and its `mode` file. */
  hostState: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

export async function startSshd(dir: string): Promise<Sshd> {
  const sshd = findSshd();
  if (!sshd) throw new Error('sshd not found (install openssh-server)');
  await mkdir(dir, { recursive: true });
  const hostState = join(dir, 'host');
  await mkdir(hostState, { recursive: true });
  // sshd refuses to start without its privilege-separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const identityFile = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy-e2e', '-f', identityFile]);
  const authorizedKeys = join(dir, 'authorized_keys');
  await execa('cp', [`${identityFile}.pub`, authorizedKeys]);
  const port = await freePort();
  const user = (await execa('id', ['-un'])).stdout.trim();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'Subsystem sftp internal-sftp',
      `SetEnv PATH=${FAKE_HOST_DIR}/bin:/usr/local/bin:/usr/bin:/bin FAKE_HOST_STATE=${hostState} REPO_ROOT=${REPO_ROOT}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  const start = async () => {
    // `timeout` makes sshd stop by itself even if the test process dies first.
    child = spawn('timeout', ['180', sshd, '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    for (let i = 0; i < 100; i++) {
      if (await accepts(port)) return;
      if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`sshd did not listen on ${port}: ${stderr}`);
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return { port, user, identityFile, hostState, stop, restart: async () => (await stop(), await start()) };
}
