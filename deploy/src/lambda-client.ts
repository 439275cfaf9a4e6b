import { z } from 'zod';
import { DeployConfigError, InstanceNotActiveError, InsufficientCapacityError, LambdaApiError } from './errors.js';

export const DEFAULT_LAMBDA_API_URL = 'https://cloud.lambdalabs.com/api/v1';

const instanceTypeSchema = z.object({
  instance_type: z.object({
    name: z.string(),
    description: z.string().default(''),
    gpu_description: z.string().default(''),
    price_cents_per_hour: z.number(),
    specs: z
      .object({ vcpus: z.number(), memory_gib: z.number(), storage_gib: z.number(), gpus: z.number() })
      .partial()
      .default({}),
  }),
  regions_with_capacity_available: z.array(z.object({ name: z.string(), description: z.string().default('') })),
});

const instanceSchema = z.object({
  id: z.string(),
  name: z.string().nullish(),
  ip: z.string().nullish(),
  status: z.enum(['active', 'booting', 'unhealthy', 'terminating', 'terminated']).or(z.string()),
  hostname: z.string().nullish(),
  region: z.object({ name: z.string() }).partial().nullish(),
  instance_type: z.object({ name: z.string(), price_cents_per_hour: z.number() }).partial().nullish(),
  ssh_key_names: z.array(z.string()).default([]),
});

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), suggestion: z.string().nullish() }),
});

const envelope = <T extends z.ZodType>(data: T) => z.object({ data });

export type InstanceType = {
  name: string;
  description: string;
  gpuDescription: string;
  hourlyPriceUsd: number;
  gpus: number | null;
  regionsWithCapacity: string[];
};

export type Instance = {
  id: string;
  name: string | null;
  ip: string | null;
  status: string;
  region: string | null;
  instanceType: string | null;
  hourlyPriceUsd: number | null;
};

export type LambdaClientOptions = {
  /** Lambda Cloud API key; sent only in the Authorization header, never in messages. */
  apiKey: string;
  /** API base URL (default https://cloud.lambdalabs.com/api/v1; newer accounts may use https://cloud.lambda.ai/api/v1). */
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
  /** Clock in ms; injected so tests control time. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Minimum gap between any two requests (Lambda allows about 1 req/s). Default 1050 ms. */
  minIntervalMs?: number;
  /** Minimum gap between launches (Lambda allows 1 launch per 12 s). Default 12000 ms. */
  launchSpacingMs?: number;
  /** Retries after HTTP 429 or 5xx, with exponential backoff. Default 6. */
  maxRetries?: number;
  /** First backoff after a 429 when no Retry-After is given. Default 10000 ms. */
  initialBackoffMs?: number;
  /** Per-attempt timeout, so an unreachable API fails instead of hanging. Default 20000 ms. */
  requestTimeoutMs?: number;
  /**
   * Deadline of one call, retries and backoff included (the rate gate's wait is not counted). Default 25000 ms,
   * so with no network `--list-types` fails within 30 s, naming the endpoint.
   */
  callTimeoutMs?: number;
};

/** The error of a call that got no HTTP answer at all (network down, DNS, refused, deadline). */
export const NETWORK_ERROR_STATUS = 0;

// fetch wraps the socket error: its code (ENOTFOUND, ECONNREFUSED, …) is what tells the user what happened.
function describeNetworkError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time';
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e?.message ?? error);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `wait`, or the signal's reason as soon as it aborts (a Ctrl-C must not sit out a poll interval). */
export function abortable<T>(wait: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return wait;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Thin typed client over the five Lambda Cloud endpoints deploy needs. One gate per client instance. */
export class LambdaClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #minIntervalMs: number;
  readonly #launchSpacingMs: number;
  readonly #maxRetries: number;
  readonly #initialBackoffMs: number;
  readonly #requestTimeoutMs: number;
  readonly #callTimeoutMs: number;
  #gate: Promise<void> = Promise.resolve();
  #lastRequestAt = Number.NEGATIVE_INFINITY;
  #lastLaunchAt = Number.NEGATIVE_INFINITY;

  constructor(options: LambdaClientOptions) {
    if (!options.apiKey) {
      throw new DeployConfigError(
        'LAMBDA_API_KEY is not set: put it in the environment or in a git-ignored .env file.',
      );
    }
    this.#apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? DEFAULT_LAMBDA_API_URL).replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#minIntervalMs = options.minIntervalMs ?? 1050;
    this.#launchSpacingMs = options.launchSpacingMs ?? 12_000;
    this.#maxRetries = options.maxRetries ?? 6;
    this.#initialBackoffMs = options.initialBackoffMs ?? 10_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 20_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 25_000;
  }

  async listInstanceTypes(): Promise<InstanceType[]> {
    const body = await this.#request(
      'GET',
      '/instance-types',
      undefined,
      envelope(z.record(z.string(), instanceTypeSchema)),
    );
    return Object.values(body.data).map((t) => ({
      name: t.instance_type.name,
      description: t.instance_type.description,
      gpuDescription: t.instance_type.gpu_description,
      hourlyPriceUsd: t.instance_type.price_cents_per_hour / 100,
      gpus: t.instance_type.specs.gpus ?? null,
      regionsWithCapacity: t.regions_with_capacity_available.map((r) => r.name),
    }));
  }

  async listInstances(): Promise<Instance[]> {
    const body = await this.#request('GET', '/instances', undefined, envelope(z.array(instanceSchema)));
    return body.data.map(toInstance);
  }

  /** Returns null when Lambda does not know the id (404). */
  async getInstance(id: string): Promise<Instance | null> {
    try {
      const body = await this.#request(
        'GET',
        `/instances/${encodeURIComponent(id)}`,
        undefined,
        envelope(instanceSchema),
      );
      return toInstance(body.data);
    } catch (error) {
      if (error instanceof LambdaApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** Launches one instance; returns its ids (Lambda may launch fewer than asked). */
  async launch(request: {
    regionName: string;
    instanceTypeName: string;
    sshKeyName: string;
    name: string;
    fileSystemName?: string;
  }): Promise<string[]> {
    const body = await this.#request(
      'POST',
      '/instance-operations/launch',
      {
        region_name: request.regionName,
        instance_type_name: request.instanceTypeName,
        ssh_key_names: [request.sshKeyName],
        ...(request.fileSystemName ? { file_system_names: [request.fileSystemName] } : {}),
        quantity: 1,
        name: request.name,
      },
      envelope(z.object({ instance_ids: z.array(z.string()) })),
      true,
    );
    return body.data.instance_ids;
  }

  async terminate(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const body = await this.#request(
      'POST',
      '/instance-operations/terminate',
      { instance_ids: ids },
      envelope(z.object({ terminated_instances: z.array(instanceSchema.partial({ status: true })) })),
    );
    return body.data.terminated_instances.map((i) => i.id);
  }

  /** Polls until the instance is active with an IP; throws InstanceNotActiveError on timeout or a dead state. */
  async waitForActive(
    id: string,
    options: { timeoutMs: number; pollMs: number; signal?: AbortSignal },
  ): Promise<Instance & { ip: string }> {
    const deadline = this.#now() + options.timeoutMs;
    let last: Instance | null = null;
    for (;;) {
      options.signal?.throwIfAborted();
      last = await this.getInstance(id);
      if (last === null) throw new InstanceNotActiveError(`Lambda instance ${id} disappeared while booting.`);
      if (last.status === 'active' && last.ip) return { ...last, ip: last.ip };
      if (last.status === 'terminated' || last.status === 'terminating') {
        throw new InstanceNotActiveError(`Lambda instance ${id} is ${last.status} before it became active.`);
      }
      if (this.#now() + options.pollMs > deadline) {
        throw new InstanceNotActiveError(
          `Lambda instance ${id} was still "${last.status}" after ${Math.round(options.timeoutMs / 1000)} s; ` +
            'it was not ready in time (raise --active-timeout, or try another region/instance type).',
        );
      }
      await abortable(this.#sleep(options.pollMs), options.signal);
    }
  }

  async #request<T extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    payload: unknown,
    schema: T,
    isLaunch = false,
  ): Promise<z.infer<T>> {
    const url = this.baseUrl + path;
    let deadline = Number.POSITIVE_INFINITY;
    for (let attempt = 0; ; attempt++) {
      await this.#waitTurn(isLaunch);
      if (attempt === 0) deadline = this.#now() + this.#callTimeoutMs;
      const left = deadline - this.#now();
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.#apiKey}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.#requestTimeoutMs, left))),
        });
      } catch (error) {
        // No answer at all. A launch is never re-sent blindly: it may have started an instance (the caller looks
        // for it by name). Otherwise retry twice, quickly, within the call's deadline.
        const pause = 1000 * 2 ** attempt;
        if (!isLaunch && attempt < Math.min(2, this.#maxRetries) && this.#now() + pause < deadline) {
          await this.#sleep(pause);
          continue;
        }
        throw new LambdaApiError(
          `Lambda API ${method} ${url}: no answer (${describeNetworkError(error)}) after ${attempt + 1} attempt(s) in ` +
            `${Math.round((this.#now() - deadline + this.#callTimeoutMs) / 1000)} s. Check the network ` +
            '(or --lambda-api-url); nothing further was sent.',
          NETWORK_ERROR_STATUS,
          null,
          { cause: error },
        );
      }
      const text = await response.text();
      if ((response.status === 429 || response.status >= 500) && attempt < this.#maxRetries) {
        const pause = this.#backoff(attempt, response.headers.get('retry-after'));
        if (this.#now() + pause < deadline) {
          await this.#sleep(pause);
          continue;
        }
      }
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      if (!response.ok) throw toApiError(method, path, response.status, json);
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new LambdaApiError(
          `Lambda API ${method} ${path} returned an unexpected body: ${z.prettifyError(parsed.error).slice(0, 500)}`,
          response.status,
          null,
        );
      }
      return parsed.data;
    }
  }

  #backoff(attempt: number, retryAfter: string | null): number {
    const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    return this.#initialBackoffMs * 2 ** attempt;
  }

  // Chained so concurrent callers queue through one gate rather than racing on the timestamps.
  #waitTurn(isLaunch: boolean): Promise<void> {
    const turn = this.#gate.then(async () => {
      const now = this.#now();
      let readyAt = this.#lastRequestAt + this.#minIntervalMs;
      if (isLaunch) readyAt = Math.max(readyAt, this.#lastLaunchAt + this.#launchSpacingMs);
      if (readyAt > now) await this.#sleep(readyAt - now);
      this.#lastRequestAt = this.#now();
      if (isLaunch) this.#lastLaunchAt = this.#lastRequestAt;
    });
    this.#gate = turn.catch(() => undefined);
    return turn;
  }
}

function toInstance(raw: z.infer<typeof instanceSchema>): Instance {
  const cents = raw.instance_type?.price_cents_per_hour;
  return {
    id: raw.id,
    name: raw.name ?? null,
    ip: raw.ip ?? null,
    status: raw.status,
    region: raw.region?.name ?? null,
    instanceType: raw.instance_type?.name ?? null,
    hourlyPriceUsd: typeof cents === 'number' ? cents / 100 : null,
  };
}

function toApiError(method: string, path: string, status: number, json: unknown): LambdaApiError {
  const parsed = errorSchema.safeParse(json);
  if (!parsed.success)
    return new LambdaApiError(`Lambda API ${method} ${path} failed with HTTP ${status}.`, status, null);
  const { code, message, suggestion } = parsed.data.error;
  const text = `Lambda API ${method} ${path} failed (${code}): ${message}${suggestion ? ` ${suggestion}` : ''}`;
  if (code === 'instance-operations/launch/insufficient-capacity') {
    return new InsufficientCapacityError(
      `${text} Try another --region or --instance-type (see --list-types).`,
      status,
      code,
    );
  }
  if (code === 'global/invalid-api-key') {
    return new LambdaApiError(`${text} Check LAMBDA_API_KEY.`, status, code);
  }
  return new LambdaApiError(text, status, code);
}
