/**
 * A base URL as it may be shown or stored: the userinfo (`user:key@`) and every query value (`?api_key=...`)
 * become `***`. A server key can sit in either, so neither reaches a log, the manifest or a report.
 * Text that is not a URL is returned unchanged (the option parser has refused it already).
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.username === '' && parsed.password === '' && parsed.search === '') return url;
  const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  const query = [...parsed.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join('&');
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname}${query === '' ? '' : `?${query}`}${parsed.hash}`;
}

/**
 * The secret parts of the URLs (userinfo, query values, raw and percent-encoded), for {@link redactSecrets} to
 * strip from any message that echoes a URL, such as an error of the HTTP client.
 */
export function urlSecrets(urls: readonly string[]): string[] {
  const out = new Set<string>();
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue;
    }
    for (const part of [parsed.username, parsed.password, ...parsed.searchParams.values()]) {
      if (part.length < 3) continue; // too short to be a key, and replacing it would garble messages
      out.add(part);
      out.add(encodeURIComponent(part));
      try {
        out.add(decodeURIComponent(part));
      } catch {
        // not percent-encoded text: the raw form is already listed
      }
    }
    if (parsed.search.length > 1) out.add(parsed.search.slice(1));
  }
  // Longest first, so a key is replaced whole before any shorter part of it.
  return [...out].sort((a, b) => b.length - a.length);
}
