import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DatasetDownloadError, DatasetNotFoundError } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** What is stored beside a complete download; its presence is what makes a cache hit. */
export type CacheMeta = { url: string; size: number; commit: string | null; etag: string | null; downloadedAt: string };

export type DownloadRequest = {
  url: string;
  /** Final path of the file in the cache. `<dest>.part` holds an unfinished download. */
  dest: string;
  fetch: FetchLike;
  /** Sent only to `authOrigin` (the hub), never to the CDN it redirects to. */
  authorization?: string | undefined;
  authOrigin?: string | undefined;
  /** Called for 401/403 so the caller can say what to do; must throw. */
  onDenied?: (status: number, hubMessage: string | null) => never;
  /** Wall clock for the metadata only; injected so tests can pin it. */
  now?: () => Date;
};

export type DownloadResult = { file: string; fromCache: boolean; resumedFrom: number; meta: CacheMeta };

const MAX_REDIRECTS = 5;

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** A complete file from an earlier run, or null when it must be (re)downloaded. */
export async function cachedFile(dest: string): Promise<CacheMeta | null> {
  const size = await sizeOf(dest);
  if (size === null) return null;
  try {
    const meta = JSON.parse(await readFile(`${dest}.meta.json`, 'utf8')) as CacheMeta;
    if (typeof meta.size === 'number' && meta.size === size) return meta;
  } catch {
    // no or unreadable metadata: the file cannot be trusted to be complete
  }
  return null;
}

function contentRange(header: string | null): { start: number; total: number | null } | null {
  const m = header === null ? null : /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim());
  if (!m) return null;
  return { start: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) };
}

function describe(cause: unknown): string {
  // fetch says "fetch failed"; the socket's code (ENOTFOUND, ECONNREFUSED, ...) is what tells the user why.
  const inner = (cause as { cause?: { code?: string } } | null)?.cause?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return inner ? `${message} (${inner})` : message;
}

/**
 * Streams `url` into the cache: a complete file is never fetched again, an unfinished one is
 * resumed with a Range request (or redone when the server ignores the range), and the byte count
 * is checked against the size the server announced before the file is marked complete.
 */
export function downloadToCache(req: DownloadRequest): Promise<DownloadResult> {
  // Two loads of the same file in one process would otherwise interleave writes into one .part file.
  const running = inFlight.get(req.dest);
  if (running) return running;
  const job = download(req).finally(() => inFlight.delete(req.dest));
  inFlight.set(req.dest, job);
  return job;
}

const inFlight = new Map<string, Promise<DownloadResult>>();

async function download(req: DownloadRequest): Promise<DownloadResult> {
  const hit = await cachedFile(req.dest);
  if (hit) return { file: req.dest, fromCache: true, resumedFrom: 0, meta: hit };

  await mkdir(dirname(req.dest), { recursive: true });
  const part = `${req.dest}.part`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const have = (await sizeOf(part)) ?? 0;
    const outcome = await fetchOnce(req, part, have);
    if (outcome === 'restart') {
      await rm(part, { force: true });
      continue;
    }
    await writeFile(`${req.dest}.meta.json`, JSON.stringify(outcome.meta, null, 2));
    await rename(part, req.dest);
    return { file: req.dest, fromCache: false, resumedFrom: outcome.resumedFrom, meta: outcome.meta };
  }
  throw new DatasetDownloadError(
    req.url,
    'the server kept rejecting the resume range; delete the cache entry and retry',
  );
}

async function fetchOnce(
  req: DownloadRequest,
  part: string,
  have: number,
): Promise<'restart' | { meta: CacheMeta; resumedFrom: number }> {
  let url = req.url;
  let commit: string | null = null;
  let linkedSize: number | null = null;
  let etag: string | null = null;
  let res: Response | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (have > 0) headers['range'] = `bytes=${have}-`;
    if (req.authorization !== undefined && req.authOrigin !== undefined && new URL(url).origin === req.authOrigin) {
      headers['authorization'] = req.authorization;
    }
    try {
      res = await req.fetch(url, { headers, redirect: 'manual' });
    } catch (cause) {
      throw new DatasetDownloadError(req.url, `network error: ${describe(cause)}`, { cause, network: true });
    }
    commit ??= res.headers.get('x-repo-commit');
    etag ??= res.headers.get('x-linked-etag') ?? res.headers.get('etag');
    const linked = res.headers.get('x-linked-size');
    if (linked !== null && linkedSize === null) linkedSize = Number(linked);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel();
      url = new URL(location, url).toString();
      continue;
    }
    break;
  }
  if (!res) throw new DatasetDownloadError(req.url, 'no response');
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new DatasetDownloadError(req.url, `more than ${MAX_REDIRECTS} redirects`);
  }
  if (res.status === 401 || res.status === 403) {
    const hubMessage = res.headers.get('x-error-message');
    await res.body?.cancel();
    if (req.onDenied) req.onDenied(res.status, hubMessage);
    throw new DatasetDownloadError(req.url, `HTTP ${res.status} (access denied)`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new DatasetNotFoundError(
      `${req.url} does not exist (HTTP 404): check the dataset name, config, split and revision`,
    );
  }
  if (res.status === 416) {
    await res.body?.cancel();
    return 'restart';
  }
  let append = false;
  let total: number | null = null;
  if (res.status === 206) {
    const range = contentRange(res.headers.get('content-range'));
    if (!range || range.start !== have) {
      await res.body?.cancel();
      return 'restart';
    }
    append = true;
    total = range.total;
  } else if (res.status === 200) {
    const len = res.headers.get('content-length');
    total = len === null ? null : Number(len);
  } else {
    await res.body?.cancel();
    throw new DatasetDownloadError(req.url, `unexpected HTTP ${res.status} ${res.statusText}`);
  }
  // The hub announces the real (LFS) size before redirecting; it wins over the CDN's headers.
  const expected = linkedSize ?? total;
  if (!res.body) throw new DatasetDownloadError(req.url, 'empty response body');
  try {
    await pipeline(
      Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
      createWriteStream(part, { flags: append ? 'a' : 'w' }),
    );
  } catch (cause) {
    throw new DatasetDownloadError(
      req.url,
      `connection lost after ${(await sizeOf(part)) ?? 0} bytes (${describe(cause)}); the partial file is kept and the next run resumes it`,
      { cause },
    );
  }
  const got = (await sizeOf(part)) ?? 0;
  if (expected !== null && got !== expected) {
    if (got > expected) await rm(part, { force: true });
    throw new DatasetDownloadError(
      req.url,
      `size mismatch: expected ${expected} bytes, got ${got}` +
        (got < expected ? '; the partial file is kept and the next run resumes it' : '; the file was deleted'),
    );
  }
  const meta: CacheMeta = {
    url: req.url,
    size: got,
    commit,
    etag,
    downloadedAt: (req.now ?? (() => new Date()))().toISOString(),
  };
  return { meta, resumedFrom: append ? have : 0 };
}
