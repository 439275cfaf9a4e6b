import { join } from 'node:path';
import { downloadToCache } from './download.js';
import { defaultCacheDir, type HubOptions } from './hub.js';

/**
 * Caches a public file (e.g. a GitHub raw URL) under `<cacheDir>/web/<host>/<path>`; no token is
 * ever sent because these are not hub URLs.
 */
export async function cachedRemoteFile(url: string, options: HubOptions): Promise<string> {
  const env = options.env ?? process.env;
  const u = new URL(url);
  const dest = join(options.cacheDir ?? defaultCacheDir(env), 'web', u.host, ...u.pathname.split('/').filter((p) => p !== '' && p !== '..'));
  const result = await downloadToCache({ url, dest, fetch: options.fetch ?? globalThis.fetch });
  return result.file;
}
