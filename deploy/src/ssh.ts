import { execa } from 'execa';
import { SshError } from './errors.js';

export type SshTarget = {
  host: string;
  user: string;
  port: number;
  /** Private key to use; null = ssh's defaults / agent. */
  identityFile: string | null;
  /** Per-deployment known_hosts, so a recycled cloud IP never collides with the user's own file. */
  knownHostsFile: string;
  serverAliveIntervalS: number;
};

export type ExecResult = { exitCode: number | null; stdout: string; stderr: string; timedOut: boolean };
/** Runs a program with an argument array (never through a local shell). */
export type Exec = (
  file: string,
  args: readonly string[],
  options?: { input?: string; timeoutMs?: number; signal?: AbortSignal },
) => Promise<ExecResult>;

export const execaExec: Exec = async (file, args, options = {}) => {
  const result = await execa(file, args, {
    reject: false,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    // Ctrl-C / SIGTERM during `serve.sh up` (a long image pull) must not wait the pull out.
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
  });
  options.signal?.throwIfAborted();
  return {
    exitCode: result.exitCode ?? null,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    timedOut: result.timedOut,
  };
};

/** POSIX single-quote quoting: ssh hands the remote shell one command line, so each argv item is quoted. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function sshOptions(target: SshTarget): string[] {
  const options = [
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    `UserKnownHostsFile=${target.knownHostsFile}`,
    '-o',
    `ServerAliveInterval=${target.serverAliveIntervalS}`,
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
  ];
  if (target.identityFile !== null) options.push('-o', 'IdentitiesOnly=yes', '-i', target.identityFile);
  return options;
}

export const sshDestination = (target: SshTarget) => `${target.user}@${target.host}`;

/** Arguments for `ssh -N -L local:127.0.0.1:remote`: the port stays on the server's loopback. */
export function tunnelArgs(target: SshTarget, localPort: number, remotePort: number): string[] {
  return [
    '-N',
    '-o',
    'ExitOnForwardFailure=yes',
    ...sshOptions(target),
    '-p',
    String(target.port),
    '-L',
    `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`,
    sshDestination(target),
  ];
}

export class Ssh {
  constructor(
    readonly target: SshTarget,
    private readonly exec: Exec,
    private readonly redact: (text: string) => string,
  ) {}

  /** Runs argv on the remote host; throws SshError (redacted stderr) on a non-zero exit. */
  async run(
    argv: readonly string[],
    options: { input?: string; timeoutMs?: number; what?: string; signal?: AbortSignal | undefined } = {},
  ): Promise<ExecResult> {
    const result = await this.exec(
      'ssh',
      [
        ...sshOptions(this.target),
        '-p',
        String(this.target.port),
        sshDestination(this.target),
        '--',
        argv.map(shellQuote).join(' '),
      ],
      {
        ...(options.input === undefined ? {} : { input: options.input }),
        timeoutMs: options.timeoutMs ?? 120_000,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    if (result.exitCode !== 0) {
      const stderr = this.redact(result.stderr.trim()).slice(-2000);
      const what = options.what ?? argv.slice(0, 3).join(' ');
      const reason = result.timedOut
        ? 'timed out'
        : result.exitCode === 255
          ? 'could not connect or authenticate'
          : `exited with ${result.exitCode}`;
      throw new SshError(
        `ssh ${sshDestination(this.target)} (${what}) ${reason}${stderr ? `: ${stderr}` : ''}`,
        result.exitCode,
        stderr,
      );
    }
    return result;
  }

  /** Copies files (not directories) into remoteDir, which must exist. */
  async copyFiles(localFiles: readonly string[], remoteDir: string, signal?: AbortSignal): Promise<void> {
    const result = await this.exec(
      'scp',
      [
        '-q',
        ...sshOptions(this.target),
        '-P',
        String(this.target.port),
        ...localFiles,
        `${sshDestination(this.target)}:${remoteDir}/`,
      ],
      { timeoutMs: 120_000, ...(signal ? { signal } : {}) },
    );
    if (result.exitCode !== 0) {
      const stderr = this.redact(result.stderr.trim()).slice(-2000);
      throw new SshError(
        `scp to ${sshDestination(this.target)}:${remoteDir} failed: ${stderr}`,
        result.exitCode,
        stderr,
      );
    }
  }
}
