import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DatasetNotFoundError } from './errors.js';
import { decodeText } from './text.js';

/** A file shipped in this package's data/ directory (works from src/ and from dist/). */
export function shippedFile(relative: string): string {
  return fileURLToPath(new URL(`../data/${relative}`, import.meta.url));
}

/** A text file decoded exactly (see {@link decodeText}): BOM dropped, invalid UTF-8 an error with its byte offset. */
export async function readText(path: string, encoding?: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DatasetNotFoundError(
      code === 'ENOENT' ? `${path} does not exist: check the path` : `cannot read ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return decodeText(bytes, path, encoding);
}
