import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DatasetNotFoundError } from './errors.js';

/** A file shipped in this package's data/ directory (works from src/ and from dist/). */
export function shippedFile(relative: string): string {
  return fileURLToPath(new URL(`../data/${relative}`, import.meta.url));
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DatasetNotFoundError(
      code === 'ENOENT' ? `${path} does not exist: check the path` : `cannot read ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
}
