import { describe, expect, test } from '@jest/globals';
import {
  InstanceNotActiveError,
  InsufficientCapacityError,
  LambdaApiError,
  LambdaClient,
  isDeployError,
} from '@deepconf-safety/deploy';

const KEY = 'secret_abcdef123456';

/** A fake clock: sleep advances time instantly, so rate-limit tests need no real waiting. */
function clock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), advance: (ms: number) => void (t += ms) };
}

type Handler = (url: string, init: RequestInit) => { status: number; body: unknown; headers?: Record<string, string> };

function fakeFetch(
  handler: Handler,
  log: { url: string; init: RequestInit; at: number }[],
  now: () => number,
): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input);
    log.push({ url, init, at: now() });
    const { status, body, headers } = handler(url, init);
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: headers ?? {} });
  }) as typeof fetch;
}

const instance = (over: Record<string, unknown> = {}) => ({
  id: 'i-1',
  name: 'deepconf-x',
  ip: null,
  status: 'booting',
  region: { name: 'us-east-1' },
  instance_type: { name: 'gpu_1x_a10', price_cents_per_hour: 75 },
  ssh_key_names: ['k'],
  ...over,
});

describe('LambdaClient', () => {
  test('spaces every request by the 1 req/s gate and launches by the launch spacing, also when called concurrently', async () => {
    const c = clock();
    const log: { url: string; init: RequestInit; at: number }[] = [];
    const client = new LambdaClient({
      apiKey: KEY,
      baseUrl: 'https://api.test/v1/',
      fetch: fakeFetch(
        (url) =>
          url.endsWith('/launch')
            ? { status: 200, body: { data: { instance_ids: ['i-1'] } } }
            : { status: 200, body: { data: [] } },
        log,
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
    });
    await Promise.all([
      client.listInstances(),
      client.launch({ regionName: 'r', instanceTypeName: 't', sshKeyName: 'k', name: 'a' }),
      client.listInstances(),
      client.launch({ regionName: 'r', instanceTypeName: 't', sshKeyName: 'k', name: 'b' }),
    ]);
    expect(log.map((l) => l.url)).toEqual([
      'https://api.test/v1/instances',
      'https://api.test/v1/instance-operations/launch',
      'https://api.test/v1/instances',
      'https://api.test/v1/instance-operations/launch',
    ]);
    const gaps = log.slice(1).map((l, i) => l.at - log[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1050);
    expect(log[3]!.at - log[1]!.at).toBeGreaterThanOrEqual(12_000);
    expect(log[1]!.init.headers).toMatchObject({ authorization: `Bearer ${KEY}` });
    expect(JSON.parse(String(log[1]!.init.body))).toEqual({
      region_name: 'r',
      instance_type_name: 't',
      ssh_key_names: ['k'],
      quantity: 1,
      name: 'a',
    });
  });

  test('retries 429 with exponential backoff, honouring Retry-After', async () => {
    const c = clock();
    const log: { url: string; init: RequestInit; at: number }[] = [];
    let calls = 0;
    const client = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(
        () => {
          calls++;
          if (calls === 1)
            return { status: 429, body: { error: { code: 'global/rate-limited', message: 'slow down' } } };
          if (calls === 2) return { status: 429, body: {}, headers: { 'retry-after': '3' } };
          return { status: 200, body: { data: [instance()] } };
        },
        log,
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
      minIntervalMs: 0,
      initialBackoffMs: 10_000,
    });
    const list = await client.listInstances();
    expect(list).toEqual([
      {
        id: 'i-1',
        name: 'deepconf-x',
        ip: null,
        status: 'booting',
        region: 'us-east-1',
        instanceType: 'gpu_1x_a10',
        hourlyPriceUsd: 0.75,
      },
    ]);
    expect(log[1]!.at - log[0]!.at).toBe(10_000);
    expect(log[2]!.at - log[1]!.at).toBe(3_000);
  });

  test('gives up after maxRetries and reports the status', async () => {
    const c = clock();
    const client = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(
        () => ({ status: 429, body: { error: { code: 'global/rate-limited', message: 'slow down' } } }),
        [],
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
      maxRetries: 2,
    });
    await expect(client.listInstances()).rejects.toMatchObject({ status: 429, code: 'global/rate-limited' });
  });

  test('maps insufficient capacity to InsufficientCapacityError and never puts the key in a message', async () => {
    const c = clock();
    const client = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(
        () => ({
          status: 400,
          body: {
            error: { code: 'instance-operations/launch/insufficient-capacity', message: 'Not enough capacity.' },
          },
        }),
        [],
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
    });
    const error = await client
      .launch({ regionName: 'r', instanceTypeName: 't', sshKeyName: 'k', name: 'a' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientCapacityError);
    expect(isDeployError(error)).toBe(true);
    expect((error as Error).message).toMatch(/insufficient-capacity.*--region or --instance-type/);
    expect((error as Error).message).not.toContain(KEY);
  });

  test('invalid key, unexpected bodies and 404s', async () => {
    const c = clock();
    const client = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(
        (url) => {
          if (url.endsWith('/instances/gone'))
            return { status: 404, body: { error: { code: 'global/object-does-not-exist', message: 'no' } } };
          if (url.endsWith('/instances')) return { status: 200, body: { data: [{ name: 'missing id' }] } };
          return { status: 401, body: { error: { code: 'global/invalid-api-key', message: 'API key was invalid' } } };
        },
        [],
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
    });
    expect(await client.getInstance('gone')).toBeNull();
    await expect(client.listInstances()).rejects.toThrow(/unexpected body/);
    const auth = await client.listInstanceTypes().catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(LambdaApiError);
    expect((auth as LambdaApiError).code).toBe('global/invalid-api-key');
    expect((auth as Error).message).toContain('Check LAMBDA_API_KEY');
    expect(() => new LambdaClient({ apiKey: '' })).toThrow(/LAMBDA_API_KEY is not set/);
  });

  test('waitForActive polls until active with an IP, and times out with a clear message', async () => {
    const c = clock();
    let polls = 0;
    const client = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(
        () => {
          polls++;
          return {
            status: 200,
            body: { data: polls < 3 ? instance() : instance({ status: 'active', ip: '10.0.0.5' }) },
          };
        },
        [],
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
    });
    expect((await client.waitForActive('i-1', { timeoutMs: 60_000, pollMs: 5000 })).ip).toBe('10.0.0.5');
    expect(polls).toBe(3);

    const stuck = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(() => ({ status: 200, body: { data: instance() } }), [], c.now),
      now: c.now,
      sleep: c.sleep,
    });
    const error = await stuck.waitForActive('i-1', { timeoutMs: 30_000, pollMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstanceNotActiveError);
    expect((error as Error).message).toMatch(/still "booting" after 30 s/);
  });

  test('instance types carry price and regions with capacity', async () => {
    const c = clock();
    const client = new LambdaClient({
      apiKey: KEY,
      fetch: fakeFetch(
        () => ({
          status: 200,
          body: {
            data: {
              gpu_8x_h100: {
                instance_type: {
                  name: 'gpu_8x_h100',
                  description: '8x H100',
                  gpu_description: 'H100',
                  price_cents_per_hour: 2392,
                  specs: { vcpus: 208, memory_gib: 1800, storage_gib: 22000, gpus: 8 },
                },
                regions_with_capacity_available: [{ name: 'us-west-1', description: 'California' }],
              },
            },
          },
        }),
        [],
        c.now,
      ),
      now: c.now,
      sleep: c.sleep,
    });
    expect(await client.listInstanceTypes()).toEqual([
      {
        name: 'gpu_8x_h100',
        description: '8x H100',
        gpuDescription: 'H100',
        hourlyPriceUsd: 23.92,
        gpus: 8,
        regionsWithCapacity: ['us-west-1'],
      },
    ]);
  });
});
