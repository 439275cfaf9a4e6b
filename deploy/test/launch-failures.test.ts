// Launch failures against the fake Lambda API over real HTTP: each ends with a clear message and nothing running.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InstanceNotActiveError,
  InsufficientCapacityError,
  LambdaClient,
  SshError,
  deploy,
  type DeployOptions,
  type Exec,
} from '@deepconf-safety/deploy';
import { startFakeLambda, type FakeLambda, type FakeLambdaScenario } from './helpers/fake-lambda.js';

const KEY = 'lambda_secret_0123456789';
const secrets = { lambdaApiKey: KEY, vllmApiKey: 'vllm_secret_abcdefgh' };
let fake: FakeLambda | null = null;
let dir: string | null = null;

afterEach(async () => {
  await fake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  fake = null;
  dir = null;
});

async function setup(scenario: Omit<FakeLambdaScenario, 'apiKey'>) {
  fake = await startFakeLambda({ apiKey: KEY, ...scenario });
  dir = await mkdtemp(join(tmpdir(), 'deploy-fail-'));
  const lambda = new LambdaClient({ apiKey: KEY, baseUrl: fake.url, minIntervalMs: 0, launchSpacingMs: 0 });
  const logs: string[] = [];
  const options: DeployOptions = {
    provider: 'lambda',
    stateDir: join(dir, '.deploy'),
    model: 'Qwen/Qwen3-1.7B',
    name: 'deepconf-test',
    instanceType: 'gpu_1x_a10',
    sshKeyName: 'test-key',
    activeTimeoutMs: 300,
    pollMs: 20,
    sshReadyTimeoutMs: 100,
  };
  // No sshd here: any ssh the deploy attempts fails like an unreachable host.
  const exec: Exec = async () => ({
    exitCode: 255,
    stdout: '',
    stderr: 'ssh: connect to host 127.0.0.1 port 22: Connection refused',
    timedOut: false,
  });
  const deps = { secrets, lambda, exec, log: (line: string) => void logs.push(line), spawnKeeper: async () => 0 };
  return { fake: fake, options, deps, logs, stateDir: join(dir, '.deploy') };
}

describe('deploy failures during launch', () => {
  test('no capacity in the listing: nothing is launched and the error names alternatives', async () => {
    const { fake, options, deps } = await setup({ regions: [] });
    const error = await deploy(options, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientCapacityError);
    expect((error as Error).message).toMatch(/no capacity for gpu_1x_a10.*Nothing was launched/s);
    expect(fake.launches).toEqual([]);
    expect(fake.running()).toEqual([]);
  });

  test('capacity gone at launch time (Lambda answers insufficient-capacity): clear error, nothing running', async () => {
    const { fake, options, deps, stateDir } = await setup({ launchCapacityError: true });
    const error = await deploy(options, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientCapacityError);
    expect((error as Error).message).toMatch(/insufficient-capacity.*Try another --region or --instance-type/s);
    expect(fake.running()).toEqual([]);
    expect(await readdir(stateDir).catch(() => [])).toEqual([]);
  });

  test('instance never becomes active: it is terminated and the message says how long we waited', async () => {
    const { fake, options, deps, stateDir } = await setup({ neverActive: true });
    const error = await deploy(options, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstanceNotActiveError);
    expect((error as Error).message).toMatch(/still "booting" after 0 s/);
    expect((error as Error).message).toMatch(/Terminated instance\(s\) inst-1; nothing is left running/);
    expect(fake.launches).toHaveLength(1);
    expect(fake.terminations).toEqual(['inst-1']);
    expect(fake.running()).toEqual([]);
    expect(await readdir(stateDir)).toEqual([]);
  });

  test('--keep leaves the instance up for debugging and says how to remove it', async () => {
    const { fake, options, deps, logs } = await setup({ neverActive: true });
    await expect(deploy({ ...options, keep: true }, deps)).rejects.toThrow(InstanceNotActiveError);
    expect(fake.terminations).toEqual([]);
    expect(fake.running()).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/--keep given.*--down/);
  });

  test('a retry finds the instance it already launched by name instead of launching another', async () => {
    const { fake, options, deps, logs } = await setup({ bootPolls: 0 });
    fake.instances.set('inst-old', {
      id: 'inst-old',
      name: 'deepconf-test',
      status: 'active',
      ip: '127.0.0.1',
      polls: 0,
    });
    // The host is unreachable over ssh, so this deploy fails after finding the instance; it still cleans up.
    const error = await deploy(options, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshError);
    expect(fake.launches).toEqual([]);
    expect(logs.join('\n')).toContain('Found instance inst-old already launched as "deepconf-test"');
    expect(fake.terminations).toEqual(['inst-old']);
  });

  test('--count 2 launches two named instances spaced by the launch gate and cleans up both on failure', async () => {
    const { fake, options, deps } = await setup({ bootPolls: 0 });
    await expect(deploy({ ...options, count: 2 }, deps)).rejects.toThrow(SshError);
    expect(fake.launches.map((l) => l.name)).toEqual(['deepconf-test-1', 'deepconf-test-2']);
    expect(fake.terminations.sort()).toEqual(['inst-1', 'inst-2']);
    expect(fake.running()).toEqual([]);
  });

  test('bad input is refused before anything is launched', async () => {
    const { fake, options, deps } = await setup({});
    await expect(deploy({ ...options, name: 'bad name!' }, deps)).rejects.toThrow(/--name "bad name!"/);
    await expect(deploy(options, { ...deps, secrets: { lambdaApiKey: KEY } })).rejects.toThrow(
      /VLLM_API_KEY is not set/,
    );
    await expect(deploy({ ...options, instanceType: 'gpu_9x_nope' }, deps)).rejects.toThrow(
      /"gpu_9x_nope" is not offered; available: gpu_1x_a10/,
    );
    await expect(deploy({ ...options, tensorParallelSize: 2 }, deps)).rejects.toThrow(
      /has 1 GPU\(s\) but tensor × data parallel size needs 2/,
    );
    await expect(deploy({ ...options, count: 0 }, deps)).rejects.toThrow(/--count must be a positive integer/);
    expect(fake.launches).toEqual([]);
  });
});
