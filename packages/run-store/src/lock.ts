import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { RunLockedError, RunStoreError } from './errors.js';

/** The lock file of a run directory: who writes it. */
export const LOCK_FILE = 'writer.lock';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** Injected so tests can play a live or a dead owner without racing real processes. */
export interface LockEnv {
  pid: number;
  host: string;
  /** Whether a process with this pid runs on this host. */
  isAlive(pid: number): boolean;
  now(): Date;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const defaultLockEnv = (): LockEnv => ({
  pid: process.pid,
  host: hostname(),
  isAlive: processIsAlive,
  now: () => new Date(),
});

function readOwner(file: string): LockOwner | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.host === 'string')
      return { pid: value.pid, host: value.host, since: String(value.since) };
  } catch {
    // Unreadable or half-written: treated as no owner below (a writer writes it with one write(2)).
  }
  return null;
}

/** Creates the lock file only if it does not exist (O_EXCL): of two writers racing, exactly one gets it. */
function tryCreate(file: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new RunStoreError(
      `cannot create the lock ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Holds a run directory's lock; {@link RunLock.release} removes it if it is still ours. */
export class RunLock {
  private constructor(
    readonly file: string,
    readonly owner: LockOwner,
    /** The pid of a dead writer whose lock this one took over, if any. */
    readonly tookOverFrom: number | null,
  ) {}

  /**
   * Takes the lock of `dir` for this process: refused (RunLockedError, naming the pid) while another live process
   * holds it; a lock left by a dead process on this host is taken over, and `tookOverFrom` says whose it was.
   */
  static acquire(dir: string, env: LockEnv = defaultLockEnv()): RunLock {
    const file = `${dir}/${LOCK_FILE}`;
    const owner: LockOwner = { pid: env.pid, host: env.host, since: env.now().toISOString() };
    if (tryCreate(file, owner)) return new RunLock(file, owner, null);
    const current = readOwner(file);
    if (current !== null && current.host !== env.host) {
      throw new RunLockedError(
        dir,
        current.pid,
        `on host ${current.host} (this tool cannot tell whether it still runs there)`,
      );
    }
    if (current !== null && current.pid !== env.pid && env.isAlive(current.pid))
      throw new RunLockedError(dir, current.pid, null);
    // Stale (dead pid, our own pid from an earlier life, or unreadable). Two processes may find it stale at once:
    // the takeover runs under a second exclusive file, so only one removes it and creates its own.
    const mutex = `${file}.takeover`;
    if (!tryCreate(mutex, owner)) {
      throw new RunLockedError(
        dir,
        readOwner(mutex)?.pid ?? null,
        `taking over a stale lock (if no process runs, remove ${mutex})`,
      );
    }
    try {
      const again = readOwner(file);
      if (again !== null && current !== null && (again.pid !== current.pid || again.since !== current.since)) {
        throw new RunLockedError(dir, again.pid, null);
      }
      rmSync(file, { force: true });
      if (!tryCreate(file, owner)) throw new RunLockedError(dir, readOwner(file)?.pid ?? null, null);
    } finally {
      rmSync(mutex, { force: true });
    }
    return new RunLock(file, owner, current?.pid ?? null);
  }

  release(): void {
    const current = readOwner(this.file);
    if (current !== null && current.pid === this.owner.pid && current.since === this.owner.since)
      rmSync(this.file, { force: true });
  }
}
