import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cachedFile, downloadToCache, type DownloadResult, type FetchLike } from './download.js';
import { DatasetAccessError, DatasetDownloadError, DatasetNotFoundError, DatasetOptionError } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The edges the hub code touches; all optional so production code can pass nothing. */
export type HubOptions = {
  /** Token to use instead of HF_TOKEN / the huggingface-cli token file. */
  hfToken?: string | undefined;
  /** Defaults to globalThis.fetch; tests inject one bound to a fake hub. */
  fetch?: FetchLike | undefined;
  /** Defaults to process.env (HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_OFFLINE, DEEPCONF_CACHE, HOME). */
  env?: Env | undefined;
  /** Download cache; default $DEEPCONF_CACHE or ~/.cache/deepconf-safety. */
  cacheDir?: string | undefined;
};

export type HubToken = { token: string; origin: string };

export function hubEndpoint(env: Env): string {
  return (env['HF_ENDPOINT'] || 'https://huggingface.co').replace(/\/+$/, '');
}

function home(env: Env): string {
  return env['HOME'] || homedir();
}

export function defaultCacheDir(env: Env): string {
  return env['DEEPCONF_CACHE'] || join(home(env), '.cache', 'deepconf-safety');
}

/** Where huggingface-cli writes its token: $HF_TOKEN_PATH, else $HF_HOME/token, HF_HOME defaulting like huggingface_hub. */
export function tokenFilePath(env: Env): string {
  if (env['HF_TOKEN_PATH']) return env['HF_TOKEN_PATH'];
  const hfHome = env['HF_HOME'] || join(env['XDG_CACHE_HOME'] || join(home(env), '.cache'), 'huggingface');
  return join(hfHome, 'token');
}

/** The token to send, and where it came from (for messages; the token itself is never printed). */
export async function resolveHubToken(options: Pick<HubOptions, 'hfToken' | 'env'>): Promise<HubToken | null> {
  const env = options.env ?? process.env;
  if (options.hfToken) return { token: options.hfToken, origin: 'the hfToken option' };
  if (env['HF_TOKEN']) return { token: env['HF_TOKEN'].trim(), origin: 'HF_TOKEN' };
  if (env['HUGGING_FACE_HUB_TOKEN'])
    return { token: env['HUGGING_FACE_HUB_TOKEN'].trim(), origin: 'HUGGING_FACE_HUB_TOKEN' };
  const path = tokenFilePath(env);
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token) return { token, origin: `the token file ${path}` };
  } catch {
    // no file: anonymous access, which is fine for public datasets
  }
  return null;
}

function encodePath(path: string): string {
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new DatasetOptionError(`invalid path in repository: "${path}"`);
  }
  return parts.map(encodeURIComponent).join('/');
}

/** `{HF_ENDPOINT}/datasets/{repo}/resolve/{revision}/{path}`, as the hub clients build it. */
export function resolveUrl(repo: string, revision: string, path: string, env: Env = process.env): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo))
    throw new DatasetOptionError(`invalid dataset id "${repo}": expected "owner/name"`);
  return `${hubEndpoint(env)}/datasets/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

/** The exact fix for a 401/403, shared by downloads and the access check. */
export function accessFix(
  repo: string,
  status: number,
  token: HubToken | null,
  env: Env,
): { reason: string; fix: string } {
  const endpoint = hubEndpoint(env);
  const page = `${endpoint}/datasets/${repo}`;
  const tokens = `${endpoint}/settings/tokens`;
  if (status === 401 && token === null) {
    return {
      reason: 'the hub wants a Hugging Face token and none was found (HF_TOKEN unset, no huggingface-cli token file)',
      fix: `create a "read" token at ${tokens} and set HF_TOKEN=<token> (or run \`huggingface-cli login\`); if the dataset is gated, also request access on ${page}`,
    };
  }
  if (status === 401) {
    return {
      reason: `the token from ${token?.origin ?? 'HF_TOKEN'} was rejected (invalid, expired or revoked), or the dataset is gated`,
      fix: `create a new "read" token at ${tokens} and set HF_TOKEN to it; if the dataset is gated, request access on ${page}`,
    };
  }
  return {
    reason: `${repo} is gated and the account of the token from ${token?.origin ?? 'HF_TOKEN'} is not in its authorised list`,
    fix:
      `log in to ${page}, fill in the access form and accept the terms (approval is automatic for auto-gated datasets); ` +
      `if HF_TOKEN is a fine-grained token, enable "Read access to contents of all public gated repos you can access" at ${tokens}`,
  };
}

export type HubFile = { repo: string; revision: string; path: string };

/** Local path of a hub file in the cache (revision encoded so `refs/convert/parquet` stays one directory). */
export function hubCachePath(file: HubFile, options: Pick<HubOptions, 'cacheDir' | 'env'>): string {
  const env = options.env ?? process.env;
  encodePath(file.path);
  return join(
    options.cacheDir ?? defaultCacheDir(env),
    'hub',
    'datasets',
    ...file.repo.split('/'),
    encodeURIComponent(file.revision),
    ...file.path.split('/'),
  );
}

/** Downloads (or reuses) one file of a dataset revision. */
export async function downloadHubFile(file: HubFile, options: HubOptions = {}): Promise<DownloadResult> {
  const env = options.env ?? process.env;
  const token = await resolveHubToken(options);
  const url = resolveUrl(file.repo, file.revision, file.path, env);
  const dest = hubCachePath(file, options);
  if (/^(1|true|yes|on)$/i.test(env['HF_HUB_OFFLINE'] ?? '')) {
    // Same switch as the Python hub clients: never touch the network, use the cache or fail.
    const meta = await cachedFile(dest);
    if (meta) return { file: dest, fromCache: true, resumedFrom: 0, meta };
    throw new DatasetNotFoundError(
      `HF_HUB_OFFLINE is set and ${file.repo}/${file.path}@${file.revision} is not in the cache (${dest}); ` +
        'unset HF_HUB_OFFLINE once on a machine with network to download it, or use a local copy: ' +
        '--benchmark path/to/file.csv (with --prompt-column/--label-column, and --label-map refuse=1,comply=0 if needed)',
    );
  }
  try {
    return await fetchHubFile(url, dest, file, token, options, env);
  } catch (error) {
    if (error instanceof DatasetDownloadError && error.network) {
      throw new DatasetDownloadError(
        url,
        `${error.message.replace(/^download of \S+ failed: /, '')}. ${offlineAdvice(dest, env)}`,
        {
          cause: error,
          network: true,
        },
      );
    }
    throw error;
  }
}

/** How to go on without the network: what a user on a cluster node or a plane needs to read. */
export function offlineAdvice(cachePath: string, env: Env): string {
  return (
    'No network? Either use a local copy of the file: --benchmark path/to/file.csv (with --prompt-column and ' +
    '--label-column, and --label-map refuse=1,comply=0 if its labels need it); or put the file in the cache, where ' +
    `this looked: ${cachePath} (with its .meta.json; HF_HUB_OFFLINE=1 then reads the cache only and never the network); ` +
    `or set HF_ENDPOINT to a reachable hub mirror (now: ${hubEndpoint(env)})`
  );
}

function fetchHubFile(
  url: string,
  dest: string,
  file: HubFile,
  token: HubToken | null,
  options: HubOptions,
  env: Env,
): Promise<DownloadResult> {
  return downloadToCache({
    url,
    dest,
    fetch: options.fetch ?? globalThis.fetch,
    authorization: token ? `Bearer ${token.token}` : undefined,
    authOrigin: new URL(hubEndpoint(env)).origin,
    onDenied: (status, hubMessage) => {
      const { reason, fix } = accessFix(file.repo, status, token, env);
      throw new DatasetAccessError(
        file.repo,
        status,
        hubMessage ? `${reason} (hub said: ${hubMessage.slice(0, 200)})` : reason,
        fix,
      );
    },
  });
}

/** GET a hub JSON API path (e.g. `/api/whoami-v2`) with the token; returns status and parsed body. */
export async function hubApi(
  path: string,
  options: HubOptions & { token?: HubToken | null },
): Promise<{ status: number; body: unknown }> {
  const env = options.env ?? process.env;
  const token = options.token === undefined ? await resolveHubToken(options) : options.token;
  const url = `${hubEndpoint(env)}${path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token.token}`;
  let res: Response;
  try {
    res = await (options.fetch ?? globalThis.fetch)(url, { headers });
  } catch (cause) {
    throw new DatasetDownloadError(url, `network error: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.status, body };
}
