import { displayUrl, serverRoot } from './url.js';

/** One base URL and its load/health state. */
export type Endpoint = {
  /** Normalised base URL as requests use it, e.g. http://host:8000/v1?api-key=… (a gateway's key kept): never shown. */
  readonly url: string;
  /** The base URL as messages, results and logs show it: query values redacted (`?api-key=***`). */
  readonly baseURL: string;
  /** Server root for /health and /version (the base URL without a trailing /v1, its query kept). */
  readonly root: string;
  inFlight: number;
  healthy: boolean;
  /** When an unhealthy endpoint may be probed again (clock ms). */
  retryAt: number;
  probing: boolean;
};

// The endpoint that just failed counts as half a request busier, so a retry goes elsewhere when loads tie.
const load = (ep: Endpoint, avoid: Endpoint | undefined): number => ep.inFlight + (ep === avoid ? 0.5 : 0);

export function normaliseBaseURL(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`baseURLs entry "${url}" is not a URL; expected e.g. http://127.0.0.1:8000/v1`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`baseURLs entry "${url}" must be http(s)`);
  // Credentials in the URL would end up in error messages.
  u.username = '';
  u.password = '';
  u.hash = '';
  // The path's trailing slashes go, the query (a gateway's key) stays: paths are joined onto the pathname.
  u.pathname = u.pathname.replace(/\/+$/, '');
  const text = u.toString();
  return u.search === '' ? text.replace(/\/+$/, '') : text;
}

/**
 * Sends each trace to the healthy endpoint with the fewest requests in flight. An endpoint that fails is taken out
 * and, after `reprobeAfterMs`, checked with `/health` in the background; it comes back when that succeeds. When every
 * endpoint is out, the one that may be retried soonest is used anyway, so the request itself acts as the probe.
 */
export class EndpointPool {
  readonly endpoints: readonly Endpoint[];
  #next = 0;
  readonly #reprobeAfterMs: number;
  readonly #now: () => number;
  readonly #healthCheck: (ep: Endpoint) => Promise<boolean>;

  constructor(
    baseURLs: readonly string[],
    options: { reprobeAfterMs: number; now: () => number; healthCheck: (ep: Endpoint) => Promise<boolean> },
  ) {
    if (baseURLs.length === 0)
      throw new TypeError('baseURLs is empty; give at least one vLLM base URL, e.g. http://127.0.0.1:8000/v1');
    const seen = new Set<string>();
    this.endpoints = baseURLs.map((url) => {
      const normal = normaliseBaseURL(url);
      const baseURL = displayUrl(normal);
      if (seen.has(normal)) throw new TypeError(`baseURLs lists ${baseURL} twice`);
      seen.add(normal);
      return { url: normal, baseURL, root: serverRoot(normal), inFlight: 0, healthy: true, retryAt: 0, probing: false };
    });
    this.#reprobeAfterMs = options.reprobeAfterMs;
    this.#now = options.now;
    this.#healthCheck = options.healthCheck;
  }

  /** Picks an endpoint, preferring `avoid` least (the one that just failed), and counts the request in flight. */
  acquire(avoid?: Endpoint): Endpoint {
    const now = this.#now();
    let best: Endpoint | undefined;
    const n = this.endpoints.length;
    // Start the scan at a rotating offset so ties spread over endpoints.
    const start = this.#next++ % n;
    for (let i = 0; i < n; i++) {
      const ep = this.endpoints[(start + i) % n]!;
      if (!ep.healthy) {
        this.#maybeReprobe(ep, now);
        continue;
      }
      if (best === undefined || load(ep, avoid) < load(best, avoid)) best = ep;
    }
    if (best === undefined) {
      for (const ep of this.endpoints) if (best === undefined || ep.retryAt < best.retryAt) best = ep;
    }
    const chosen = best!;
    chosen.inFlight++;
    return chosen;
  }

  release(ep: Endpoint): void {
    ep.inFlight--;
  }

  /** Takes an endpoint out after a connection error, a 5xx or a failed health check. */
  markDown(ep: Endpoint): void {
    ep.healthy = false;
    ep.retryAt = this.#now() + this.#reprobeAfterMs;
  }

  markUp(ep: Endpoint): void {
    ep.healthy = true;
  }

  #maybeReprobe(ep: Endpoint, now: number): void {
    if (ep.probing || now < ep.retryAt) return;
    ep.probing = true;
    this.#healthCheck(ep)
      .then((ok) => (ok ? this.markUp(ep) : this.markDown(ep)))
      .catch(() => this.markDown(ep))
      .finally(() => {
        ep.probing = false;
      });
  }
}
