import { mkdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RunDirectoryError } from './errors.js';

/** statfs(2) magic numbers of kernel file systems that look writable but hold no files (linux/magic.h). */
const VIRTUAL_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0xcafe4a11, 'bpf'],
  [0x74726163, 'tracefs'],
]);

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** The nearest path at or above `dir` that exists (the root always does). */
function nearestExisting(dir: string): string {
  let at = resolve(dir);
  for (;;) {
    try {
      statSync(at);
      return at;
    } catch {
      const up = dirname(at);
      if (up === at) return at;
      at = up;
    }
  }
}

/**
 * Makes sure `dir` can hold a run: creates it, and proves it writable with a probe file. Refuses, with one line
 * naming the path and the reason, a path that is a file, lies on a virtual file system (/proc, /sys), or cannot
 * be written. Called before any work starts, so a bad --output costs nothing.
 */
export function prepareRunDirectory(dir: string): void {
  const existing = nearestExisting(dir);
  const stat = statSync(existing);
  if (!stat.isDirectory()) {
    throw new RunDirectoryError(
      dir,
      existing === resolve(dir)
        ? 'is a file, not a directory; choose a new directory for the run'
        : `${existing} is a file, not a directory; choose another path`,
    );
  }
  let fsType: string | undefined;
  try {
    fsType = VIRTUAL_FS.get(statfsSync(existing).type);
  } catch {
    fsType = undefined;
  }
  if (fsType !== undefined) {
    throw new RunDirectoryError(
      dir,
      `lies on the virtual ${fsType} file system, which cannot hold files; choose a directory on a disk`,
    );
  }
  try {
    mkdirSync(dir, { recursive: true });
    const probe = `${dir}/.write-probe-${process.pid}`;
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new RunDirectoryError(dir, `cannot write there (${errno(error)}); choose a directory you can write`);
  }
}
