import { describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirectoryError, prepareRunDirectory } from '@deepconf-safety/run-store';

describe('prepareRunDirectory', () => {
  test('creates a new directory and leaves no probe behind', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'run-dir-')), 'a', 'b');
    prepareRunDirectory(dir);
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a file is refused, as is a path below a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'run-dir-')), 'f');
    writeFileSync(file, 'x');
    expect(() => prepareRunDirectory(file)).toThrow(RunDirectoryError);
    expect(() => prepareRunDirectory(file)).toThrow(/is a file, not a directory/);
    expect(() => prepareRunDirectory(join(file, 'run'))).toThrow(/f is a file, not a directory/);
  });

  test('a virtual file system is refused by name', () => {
    expect(() => prepareRunDirectory('/proc/deepconf-run')).toThrow(/virtual proc file system/);
    expect(() => prepareRunDirectory('/sys/kernel/deepconf-run')).toThrow(/virtual sysfs file system/);
  });
});
