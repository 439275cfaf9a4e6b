// Issue 14 principle 9 with real processes: the `deploy:lambda` bin against a fake Lambda API on loopback.
// No sshd is needed: every case stops while the instance is still booting, the longest wait of a real launch.
import { afterEach, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { LambdaClient, LambdaApiError } from '@deepconf-safety/deploy';
import { runCli } from '../src/cli.js';
import { startFakeLambda, type FakeLambda } from './helpers/fake-lambda.js';
import { REPO_ROOT, freePort } from './helpers/sshd.js';

const KEY = 'secret_lambda_0a1b2c3d4e5f';
const SECRETS = { LAMBDA_API_KEY: KEY, VLLM_API_KEY: 'vllm-key-9z8y7x6w5v4u', HF_TOKEN: 'hf_tokenAABBCCDDEEFF' };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: { neverActive?: boolean; failTerminate?: boolean; gatedModels?: string[] } = {}) {
  const fake = await startFakeLambda({ apiKey: KEY, neverActive: options.neverActive ?? true, ...options });
  const dir = await mkdtemp(join(tmpdir(), 'deploy-money-'));
  cleanups.push(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  const identity = join(dir, 'id_test');
  await writeFile(identity, 'not a real key\n', { mode: 0o600 });
  return { fake, dir, identity, stateDir: join(dir, '.deploy') };
}

const launchArgs = (fake: FakeLambda, identity: string, name = 'deepconf-money') => [
  '--model',
  'Qwen/Qwen3-1.7B',
  '--name',
  name,
  '--lambda-api-url',
  fake.url,
  '--instance-type',
  'gpu_1x_a10',
  '--ssh-key-name',
  'test-key',
  '--identity',
  identity,
  '--poll-interval',
  '0.1',
  '--active-timeout',
  '120',
  '--api-interval-ms',
  '5',
  '--launch-spacing-ms',
  '5',
];

/** The real bin in a child process, as `npm run deploy:lambda` runs it. */
function bin(args: string[], stateDir: string, env: Record<string, string> = {}) {
  return execa(
    join(REPO_ROOT, 'node_modules/.bin/tsx'),
    [
      '--conditions=@deepconf-safety/source',
      join(REPO_ROOT, 'deploy/src/bin/deploy-lambda.ts'),
      '--state-dir',
      stateDir,
      '--secrets-file',
      '/nonexistent/.env',
      ...args,
    ],
    { cwd: REPO_ROOT, reject: false, env: { ...SECRETS, CI: '', ...env }, extendEnv: false, timeout: 90_000 },
  );
}

async function cli(args: string[], stateDir: string, env: Record<string, string> = SECRETS) {
  let stdout = '';
  let stderr = '';
  const code = await runCli({
    argv: ['--state-dir', stateDir, '--secrets-file', '/nonexistent/.env', '--api-interval-ms', '5', ...args],
    env,
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  return { code, stdout, stderr };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The instance id recorded under .deploy/ (launch.json), once it is there. */
const recordedId = (stateDir: string, name: string) =>
  until(
    `the launch record of ${name}`,
    async () =>
      (JSON.parse(await readFile(join(stateDir, name, 'launch.json'), 'utf8')) as { instanceId: string }).instanceId,
  );

describe('deploy:lambda loses no money (fake Lambda API, real process)', () => {
  test('the instance id is recorded while it is still booting; SIGTERM mid-wait terminates it', async () => {
    const { fake, identity, stateDir } = await setup();
    const run = bin(launchArgs(fake, identity), stateDir);
    const id = await recordedId(stateDir, 'deepconf-money');
    // Recorded before any wait ended: Lambda still reports the instance as booting.
    expect(fake.instances.get(id)?.status).toBe('booting');
    // It is waiting for `active` (polling), not finished.
    await until('a status poll', async () => fake.requests.some((r) => r.path === `/instances/${id}`));
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(String(result.stderr)).toContain('SIGTERM received');
    expect(String(result.stderr)).toMatch(new RegExp(`Terminated instance\\(s\\) ${id}; nothing is left running`));
    expect(fake.terminations).toEqual([id]);
    expect(fake.running()).toEqual([]);
    expect(await readdir(stateDir)).toEqual([]);
  }, 90_000);

  test('SIGINT when termination fails: the instance stays recorded, --status shows it, --down ends it', async () => {
    const { fake, identity, stateDir } = await setup({ failTerminate: true });
    const run = bin(launchArgs(fake, identity), stateDir);
    const id = await recordedId(stateDir, 'deepconf-money');
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode).toBe(130);
    expect(String(result.stderr)).toMatch(/Could NOT terminate .*--status.*--down/s);
    expect(fake.running().map((i) => i.id)).toEqual([id]);

    const st = await cli(['--status'], stateDir);
    expect(st.code).toBe(1);
    expect(st.stdout).toContain(
      `deepconf-money: instance ${id} (gpu_1x_a10, $0.75/h, Lambda says booting) was launched at`,
    );
    expect(st.stdout).toContain('never provisioned');

    fake.scenario.failTerminate = false;
    const down = await cli(['--down'], stateDir);
    expect({ code: down.code, stderr: down.stderr }).toMatchObject({ code: 0 });
    expect(down.stdout).toContain(id);
    expect(fake.running()).toEqual([]);
    expect(await readdir(stateDir)).toEqual([]);
    expect((await cli(['--status'], stateDir)).code).toBe(0);
  }, 90_000);

  test('kill -9 mid-wait (nothing can clean up): --status shows the instance and --down ends it', async () => {
    const { fake, identity, stateDir } = await setup();
    const run = bin(launchArgs(fake, identity), stateDir);
    const id = await recordedId(stateDir, 'deepconf-money');
    // tsx runs the command in a child node process: kill that one too, as the OOM killer or a power cut would.
    const children = String(execaSync('ps', ['-o', 'pid=', '--ppid', String(run.pid)], { reject: false }).stdout)
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    for (const pid of children) process.kill(Number(pid), 'SIGKILL');
    run.kill('SIGKILL');
    await run;
    expect(fake.running().map((i) => i.id)).toEqual([id]);
    expect((await cli(['--status'], stateDir)).stdout).toContain(`instance ${id}`);
    // Another checkout's instance on the same account: --down ends only what this checkout recorded.
    const other = fake.addInstance('deepconf-other-checkout');
    await cli(['--down'], stateDir);
    expect(fake.terminations).toEqual([id]);
    expect(fake.running().map((i) => i.id)).toEqual([other.id]);
  }, 90_000);

  test('--status and --down also find instances this tool launched that .deploy/ does not know', async () => {
    const { fake, stateDir } = await setup();
    const stray = fake.addInstance('deepconf-from-another-checkout');
    const second = fake.addInstance('deepconf-second-stray');
    const other = fake.addInstance('someone-elses-box');
    const st = await cli(['--status', '--lambda-api-url', fake.url], stateDir);
    expect(st.code).toBe(1);
    expect(st.stdout).toContain(`deepconf-from-another-checkout: instance ${stray.id} (gpu_1x_a10, $0.75/h, active)`);
    expect(st.stdout).toContain('--down --name deepconf-from-another-checkout ends it');
    expect(st.stdout).not.toContain(other.id);
    // Issue 14: without --name, --down ended every deepconf-* instance on the account, other checkouts' included.
    const down = await cli(['--down', '--lambda-api-url', fake.url], stateDir);
    expect(down.code).toBe(0);
    expect(fake.terminations).toEqual([]);
    expect(down.stdout).toContain(
      `Left running: "deepconf-from-another-checkout" (${stray.id}, gpu_1x_a10, $0.75/h, active)`,
    );
    expect(down.stdout).toContain('--down --name deepconf-from-another-checkout');
    expect(down.stdout).toContain('--down --all-by-prefix');
    // One named, then the rest by prefix; never an instance without the prefix.
    const named = await cli(
      ['--down', '--name', 'deepconf-from-another-checkout', '--lambda-api-url', fake.url],
      stateDir,
    );
    expect(named.code).toBe(0);
    expect(fake.terminations).toEqual([stray.id]);
    const all = await cli(['--down', '--all-by-prefix', '--lambda-api-url', fake.url], stateDir);
    expect(all.code).toBe(0);
    expect(fake.terminations).toEqual([stray.id, second.id]);
    expect(fake.running().map((i) => i.id)).toEqual([other.id]);
    expect((await cli(['--all-by-prefix', '--lambda-api-url', fake.url], stateDir)).code).toBe(2);
  }, 60_000);

  test('a preflight lists every missing prerequisite at once and exits 2 before any Lambda call', async () => {
    const { fake, dir } = await setup({ gatedModels: ['meta-llama/Llama-3.1-8B-Instruct'] });
    const result = await bin(
      [
        '--model',
        'meta-llama/Llama-3.1-8B-Instruct',
        '--lambda-api-url',
        fake.url,
        '--instance-type',
        'gpu_1x_a10',
        '--ssh-key-name',
        'k',
        '--identity',
        join(dir, 'missing_key'),
      ],
      join(dir, '.deploy'),
      { LAMBDA_API_KEY: '', VLLM_API_KEY: '', HF_TOKEN: '', HF_ENDPOINT: fake.hubUrl },
    );
    expect(result.exitCode).toBe(2);
    const stderr = String(result.stderr);
    expect(stderr).toContain('nothing was launched; missing 4 prerequisites');
    for (const item of [
      'LAMBDA_API_KEY',
      'VLLM_API_KEY',
      `${join(dir, 'missing_key')} (--identity) does not exist`,
      'HF_TOKEN: meta-llama/Llama-3.1-8B-Instruct is gated',
    ]) {
      expect(stderr).toContain(item);
    }
    expect(fake.requests).toEqual([]);
  }, 60_000);

  test('with no network, --list-types fails within 30 s naming the endpoint', async () => {
    const { dir } = await setup();
    const closed = `http://127.0.0.1:${await freePort()}/api/v1`;
    const started = Date.now();
    const result = await bin(['--list-types', '--lambda-api-url', closed], join(dir, '.deploy'));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toContain(`Lambda API GET ${closed}/instance-types: no answer (`);
    expect(String(result.stderr)).toContain('ECONNREFUSED');
  }, 60_000);

  test('a Lambda API that accepts connections and never answers hits the call deadline', async () => {
    const sockets: Array<{ destroy(): void }> = [];
    const server: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as { port: number }).port;
    const lambda = new LambdaClient({
      apiKey: KEY,
      baseUrl: `http://127.0.0.1:${port}/api/v1`,
      minIntervalMs: 0,
      callTimeoutMs: 1500,
    });
    const error = await lambda.listInstances().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LambdaApiError);
    expect((error as Error).message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/instances: no answer \(no answer in time\)/,
    );
  }, 30_000);
});
