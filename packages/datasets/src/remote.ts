import { join } from 'node:path';
import { cachedFile, downloadToCache } from './download.js';
import { DatasetDownloadError, DatasetNotFoundError } from './errors.js';
import { defaultCacheDir, type HubOptions } from './hub.js';

/**
 * Caches a public file (e.g. a GitHub raw URL) under `<cacheDir>/web/<host>/<path>`; no token is
 * ever sent because these are not hub URLs.
 */
export async function cachedRemoteFile(url: string, options: HubOptions): Promise<string> {
  const env = options.env ?? process.env;
  const u = new URL(url);
  const dest = join(
    options.cacheDir ?? defaultCacheDir(env),
    'web',
    u.host,
    ...u.pathname.split('/').filter((p) => p !== '' && p !== '..'),
  );
  const local = "--benchmark path/to/file.csv (the benchmark's CSV, downloaded elsewhere)";
  if (/^(1|true|yes|on)$/i.test(env['HF_HUB_OFFLINE'] ?? '')) {
    // Offline means offline for every download, not only the hub's.
    if (await cachedFile(dest)) return dest;
    throw new DatasetNotFoundError(
      `HF_HUB_OFFLINE is set and ${url} is not in the cache (${dest}); use a local copy: ${local}`,
    );
  }
  try {
    return (await downloadToCache({ url, dest, fetch: options.fetch ?? globalThis.fetch })).file;
  } catch (error) {
    if (error instanceof DatasetDownloadError && error.network) {
      throw new DatasetDownloadError(
        url,
        `${error.message.replace(/^download of \S+ failed: /, '')}. No network? Use a local copy: ${local}; or put the file in the cache, where this looked: ${dest} (with its .meta.json), and set HF_HUB_OFFLINE=1 to read the cache only`,
        { cause: error, network: true },
      );
    }
    throw error;
  }
}
