import { describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, RunLock, RunLockedError, RunStore, runConfig, type LockEnv } from '@deepconf-safety/run-store';

const tmp = () => mkdtempSync(join(tmpdir(), 'run-store-lock-'));
const env = (pid: number, alive: ReadonlySet<number>, host = 'here'): LockEnv => ({
  pid,
  host,
  isAlive: (p) => alive.has(p),
  now: () => new Date(0),
});
const init = {
  runId: 'r',
  startedAt: 'now',
  config: runConfig(),
  versions: {},
  gitCommit: null,
  server: { emulated: true, baseUrls: [] },
  emulated: true,
};

describe('RunLock: one writer per run directory', () => {
  test('a second live writer is refused, naming the pid; after release it may write', () => {
    const dir = tmp();
    const first = RunLock.acquire(dir, env(100, new Set([100, 200])));
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: 100, host: 'here' });
    expect(() => RunLock.acquire(dir, env(200, new Set([100, 200])))).toThrow(RunLockedError);
    expect(() => RunLock.acquire(dir, env(200, new Set([100, 200])))).toThrow(
      /being written by another process \(pid 100\)/,
    );
    first.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(RunLock.acquire(dir, env(200, new Set([200]))).tookOverFrom).toBeNull();
  });

  test('the lock of a dead pid is taken over and says whose it was', () => {
    const dir = tmp();
    RunLock.acquire(dir, env(100, new Set([100])));
    const taken = RunLock.acquire(dir, env(200, new Set([200])));
    expect(taken.tookOverFrom).toBe(100);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: 200 });
  });

  test('a lock from another host is never taken over (its pid means nothing here)', () => {
    const dir = tmp();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 100, host: 'elsewhere', since: 'x' }));
    expect(() => RunLock.acquire(dir, env(200, new Set()))).toThrow(/pid 100\) on host elsewhere/);
  });

  test('release leaves a lock that is no longer ours', () => {
    const dir = tmp();
    const mine = RunLock.acquire(dir, env(100, new Set([100])));
    RunLock.acquire(dir, env(200, new Set([200]))); // 100 "died" and 200 took over
    mine.release();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: 200 });
  });

  test('RunStore.create holds the lock until close, also when it refuses to start', () => {
    const dir = tmp();
    const { store } = RunStore.create(dir, init, { resume: false });
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(() =>
      RunStore.create(dir, init, { resume: true, lockEnv: env(process.pid + 1, new Set([process.pid])) }),
    ).toThrow(new RegExp(`pid ${process.pid}`));
    store.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(() => RunStore.create(dir, init, { resume: false })).toThrow(/already holds a run/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});
