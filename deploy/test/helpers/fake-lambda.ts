// A fake Lambda Cloud API on 127.0.0.1 (ephemeral port) with the shapes of API v1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeLambdaScenario = {
  apiKey: string;
  /** Regions listed with capacity for gpu_1x_a10 (empty = none). */
  regions?: string[];
  /** Launch answers insufficient-capacity even though the listing showed capacity (a race). */
  launchCapacityError?: boolean;
  /** Instances stay `booting` forever. */
  neverActive?: boolean;
  /** GET /instances/{id} calls answered `booting` before `active`. */
  bootPolls?: number;
  ip?: string;
  /** Answer this many requests with 429 first. */
  rateLimitFirst?: number;
  /** Terminate answers HTTP 500 (mutable: a test can heal it). */
  failTerminate?: boolean;
  /** Models the fake Hugging Face hub (`/api/models/<id>`, no auth) says are gated. */
  gatedModels?: string[];
};

type FakeInstance = { id: string; name: string; status: string; ip: string | null; polls: number };

export type FakeLambda = {
  url: string;
  launches: { name: string; region: string; type: string; sshKeys: string[] }[];
  terminations: string[];
  requests: { method: string; path: string; at: number }[];
  instances: Map<string, FakeInstance>;
  running(): FakeInstance[];
  /** An instance launched by someone else (another checkout): it is in the API, not in this .deploy/. */
  addInstance(name: string, status?: string): FakeInstance;
  scenario: FakeLambdaScenario;
  /** The fake Hugging Face hub's base URL (for HF_ENDPOINT). */
  hubUrl: string;
  close(): Promise<void>;
};

const PRICE_CENTS = 75;

export async function startFakeLambda(scenario: FakeLambdaScenario): Promise<FakeLambda> {
  const instances = new Map<string, FakeInstance>();
  const launches: FakeLambda['launches'] = [];
  const terminations: string[] = [];
  const requests: FakeLambda['requests'] = [];
  let rateLimited = 0;
  let next = 1;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message } });
  const view = (i: FakeInstance) => ({
    id: i.id,
    name: i.name,
    ip: i.ip,
    status: i.status,
    hostname: i.ip ? `${i.ip.replaceAll('.', '-')}.fake` : null,
    region: { name: 'us-east-1', description: 'Virginia' },
    instance_type: { name: 'gpu_1x_a10', description: '1x A10 (24 GB PCIe)', price_cents_per_hour: PRICE_CENTS },
    ssh_key_names: ['test-key'],
  });
  const body = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const hub = /^\/hf\/api\/models\/(.+)$/.exec(req.url ?? '');
      if (hub)
        return send(res, 200, {
          id: decodeURIComponent(hub[1]!),
          gated: (scenario.gatedModels ?? []).includes(decodeURIComponent(hub[1]!)) ? 'manual' : false,
        });
      const path = (req.url ?? '').replace(/^\/api\/v1/, '');
      requests.push({ method: req.method ?? '', path, at: Date.now() });
      if (req.headers.authorization !== `Bearer ${scenario.apiKey}`)
        return error(res, 401, 'global/invalid-api-key', 'API key was invalid, expired, or deleted.');
      if (rateLimited < (scenario.rateLimitFirst ?? 0)) {
        rateLimited++;
        res.setHeader('retry-after', '0');
        return error(res, 429, 'global/rate-limited', 'Too many requests');
      }
      if (req.method === 'GET' && path === '/instance-types') {
        return send(res, 200, {
          data: {
            gpu_1x_a10: {
              instance_type: {
                name: 'gpu_1x_a10',
                description: '1x A10 (24 GB PCIe)',
                gpu_description: 'A10 (24 GB PCIe)',
                price_cents_per_hour: PRICE_CENTS,
                specs: { vcpus: 30, memory_gib: 200, storage_gib: 1400, gpus: 1 },
              },
              regions_with_capacity_available: (scenario.regions ?? ['us-east-1']).map((name) => ({
                name,
                description: name,
              })),
            },
          },
        });
      }
      if (req.method === 'GET' && path === '/instances')
        return send(res, 200, { data: [...instances.values()].map(view) });
      const one = /^\/instances\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && one) {
        const instance = instances.get(decodeURIComponent(one[1]!));
        if (!instance) return error(res, 404, 'global/object-does-not-exist', 'Specified instance does not exist.');
        if (instance.status === 'booting' && !scenario.neverActive && ++instance.polls > (scenario.bootPolls ?? 1)) {
          instance.status = 'active';
          instance.ip = scenario.ip ?? '127.0.0.1';
        }
        return send(res, 200, { data: view(instance) });
      }
      if (req.method === 'POST' && path === '/instance-operations/launch') {
        const b = await body(req);
        if (scenario.launchCapacityError) {
          return error(
            res,
            400,
            'instance-operations/launch/insufficient-capacity',
            'Not enough capacity to fulfill launch request.',
          );
        }
        const id = `inst-${next++}`;
        launches.push({
          name: String(b['name']),
          region: String(b['region_name']),
          type: String(b['instance_type_name']),
          sshKeys: b['ssh_key_names'] as string[],
        });
        instances.set(id, { id, name: String(b['name']), status: 'booting', ip: null, polls: 0 });
        return send(res, 200, { data: { instance_ids: [id] } });
      }
      if (req.method === 'POST' && path === '/instance-operations/terminate' && scenario.failTerminate) {
        return error(res, 500, 'global/internal', 'terminate is broken in this test');
      }
      if (req.method === 'POST' && path === '/instance-operations/terminate') {
        const ids = (await body(req))['instance_ids'] as string[];
        const done = [];
        for (const id of ids) {
          const instance = instances.get(id);
          if (!instance) continue;
          instance.status = 'terminated';
          terminations.push(id);
          done.push(view(instance));
        }
        return send(res, 200, { data: { terminated_instances: done } });
      }
      return error(res, 404, 'global/not-found', `no route ${req.method} ${path}`);
    })().catch((e: unknown) => error(res, 500, 'global/internal', String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    launches,
    terminations,
    requests,
    instances,
    running: () => [...instances.values()].filter((i) => i.status !== 'terminated'),
    addInstance: (name, status = 'active') => {
      const id = `inst-${next++}`;
      const instance = { id, name, status, ip: '127.0.0.1', polls: 0 };
      instances.set(id, instance);
      return instance;
    },
    scenario,
    hubUrl: `http://127.0.0.1:${port}/hf`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
