/**
 * Base URLs as the URL API joins them. A gateway may carry its key in the query (`https://host/v1?api-key=…`):
 * string concatenation put the path after the query (`…/v1?api-key=…/models`, a 404), so every join goes through
 * here: path segments are appended to the pathname, and the query stays where it was.
 */

/** `base` with `segments` appended to its path, its query kept: joinUrl('http://h/v1?k=1', 'models') = http://h/v1/models?k=1. */
export function joinUrl(base: string | URL, ...segments: string[]): string {
  const u = new URL(base);
  const tail = segments
    .flatMap((s) => s.split('/'))
    .filter((s) => s !== '')
    .join('/');
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = tail === '' ? path : `${path}/${tail}`;
  return u.toString();
}

/** The server root of an OpenAI base URL (its path without a trailing /v1, for /health and /version), query kept. */
export function serverRoot(base: string | URL): string {
  const u = new URL(base);
  u.pathname = u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  // http://h:8000, not http://h:8000/ (the form messages and callers have always had).
  return u.search === '' && u.hash === '' ? u.toString().replace(/\/+$/, '') : u.toString();
}

/**
 * The base URL with its query split off, as the openai SDK takes it: it appends paths to `baseURL` as text, so a
 * query there would swallow the path; `defaultQuery` it adds to every request the URL API's way.
 */
export function sdkBase(base: string): { baseURL: string; defaultQuery?: Record<string, string> } {
  const u = new URL(base);
  const query = Object.fromEntries(u.searchParams);
  u.search = '';
  u.hash = '';
  const baseURL = u.toString().replace(/\/+$/, '');
  return Object.keys(query).length === 0 ? { baseURL } : { baseURL, defaultQuery: query };
}

/**
 * A URL as it may be shown: userinfo and every query value become `***` (a key may sit in either). The same form as
 * the run store's `redactUrl`, so a URL redacted twice reads the same.
 */
export function displayUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username === '' && u.password === '' && u.search === '') return url;
  const auth = u.username !== '' || u.password !== '' ? '***@' : '';
  const query = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join('&');
  return `${u.protocol}//${auth}${u.host}${u.pathname}${query === '' ? '' : `?${query}`}${u.hash}`;
}
