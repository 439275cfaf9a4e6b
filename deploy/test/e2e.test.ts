// End to end with no cloud: fake Lambda API + real sshd on loopback + docker stand-in on "the host".
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdir, readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { readDeploymentState, deploymentCost } from '@deepconf-safety/deploy';
import { runCli } from '../src/cli.js';
import { processAlive, stopTunnelKeeper } from '../src/tunnel-keeper.js';
import { startFakeLambda, type FakeLambda } from './helpers/fake-lambda.js';
import { REPO_ROOT, findSshd, freePort, startSshd, type Sshd } from './helpers/sshd.js';

const SECRETS = {
  LAMBDA_API_KEY: 'secret_lambda_9f8e7d6c5b4a',
  VLLM_API_KEY: 'vllm-key-1a2b3c4d5e6f7g8h',
  HF_TOKEN: 'hf_tokenZZYYXXWWVVUU',
};
const MODEL = 'Qwen/Qwen3-1.7B';

const canRun = findSshd() !== null && process.getuid?.() === 0;
if (!canRun && process.env['CI'] === 'true')
  throw new Error('CI must run the deploy e2e test: install openssh-server and run as root.');
if (!canRun)
  console.warn('deploy e2e skipped: sshd (openssh-server) is not installed or not running as root; CI runs it.');
const maybe = canRun ? describe : describe.skip;

maybe('deploy:lambda end to end (fake Lambda API, real sshd, docker stand-in)', () => {
  let dir: string;
  let sshd: Sshd;
  let fake: FakeLambda;
  const output: string[] = [];

  // The real `deploy:lambda` bin in a child process (as `npm run deploy:lambda` runs it).
  const bin = async (args: string[], stateDir: string) => {
    const result = await execa(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [
        '--conditions=@deepconf-safety/source',
        join(REPO_ROOT, 'deploy/src/bin/deploy-lambda.ts'),
        '--state-dir',
        stateDir,
        '--secrets-file',
        join(dir, 'no.env'),
        ...args,
      ],
      { cwd: REPO_ROOT, reject: false, env: { ...SECRETS, CI: '' }, extendEnv: true, timeout: 45_000 },
    );
    output.push(String(result.stdout), String(result.stderr));
    return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  // The same command in-process: saves a TypeScript start-up per call on slow CI machines.
  const cli = async (args: string[], stateDir: string) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli({
      argv: ['--state-dir', stateDir, '--secrets-file', join(dir, 'no.env'), ...args],
      env: { ...SECRETS },
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
    });
    output.push(stdout, stderr);
    return { code, stdout, stderr };
  };
  const launchArgs = async (name: string, healthTimeout = '20') => [
    '--model',
    MODEL,
    '--name',
    name,
    '--lambda-api-url',
    fake.url,
    '--instance-type',
    'gpu_1x_a10',
    '--ssh-key-name',
    'test-key',
    '--identity',
    sshd.identityFile,
    '--ssh-user',
    sshd.user,
    '--ssh-port',
    String(sshd.port),
    '--remote-dir',
    join(dir, `remote-${name}`),
    '--remote-port',
    String(await freePort()),
    '--poll-interval',
    '0.1',
    '--active-timeout',
    '10',
    '--health-timeout',
    healthTimeout,
    '--api-interval-ms',
    '10',
    '--launch-spacing-ms',
    '20',
    '--tunnel-backoff-ms',
    '100',
    '--tunnel-max-attempts',
    '3',
  ];
  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | null | undefined | false>,
    ms = 15_000,
  ): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe().catch(() => null);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const allFiles = async (root: string): Promise<string[]> => {
    const entries = await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deploy-e2e-'));
    sshd = await startSshd(join(dir, 'sshd'));
    fake = await startFakeLambda({ apiKey: SECRETS.LAMBDA_API_KEY, bootPolls: 2 });
  });

  afterAll(async () => {
    for (const run of ['ok', 'unhealthy', 'host']) {
      const stateDir = join(dir, run, '.deploy');
      for (const name of await readdir(stateDir).catch(() => [] as string[])) await stopTunnelKeeper(stateDir, name);
    }
    // Stop whatever a failed assertion left behind: "containers" the stand-in started, then servers.
    for (const file of await readdir(sshd?.hostState ?? '/nonexistent').catch(() => [] as string[])) {
      if (!file.endsWith('.pid')) continue;
      const pid = Number(await readFile(join(sshd.hostState, file), 'utf8'));
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await sshd?.stop();
    await fake?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('health check timeout: clear message with the container log, instance terminated', async () => {
    const stateDir = join(dir, 'unhealthy', '.deploy');
    await writeFile(join(sshd.hostState, 'mode'), 'never-healthy');
    try {
      const before = fake.terminations.length;
      const r = await cli(await launchArgs('deepconf-sick', '1.5'), stateDir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not healthy after 2 s \(\/health answered HTTP 503\)/);
      expect(r.stderr).toContain('INFO loading model'); // the container log
      expect(r.stderr).toMatch(/Terminated instance\(s\) inst-\d+; nothing is left running/);
      expect(fake.terminations.length).toBe(before + 1);
      expect(fake.running()).toEqual([]);
      expect(await readdir(stateDir)).toEqual([]);
    } finally {
      await rm(join(sshd.hostState, 'mode'), { force: true });
    }
  }, 60_000);

  test('--host: deploys to an existing machine, --down stops the container and removes the remote .env', async () => {
    const stateDir = join(dir, 'host', '.deploy');
    const remoteDir = join(dir, 'remote-own');
    const r = await cli(
      [
        '--model',
        MODEL,
        '--name',
        'own-box',
        '--host',
        `${sshd.user}@127.0.0.1`,
        '--ssh-port',
        String(sshd.port),
        '--identity',
        sshd.identityFile,
        '--remote-dir',
        remoteDir,
        '--remote-port',
        String(await freePort()),
        '--hourly-price',
        '1.1',
        '--poll-interval',
        '0.1',
        '--health-timeout',
        '20',
      ],
      stateDir,
    );
    expect({ code: r.code, err: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, err: '' });
    const [d] = (await readDeploymentState(stateDir)).deployments;
    expect(d).toMatchObject({ provider: 'ssh', instanceId: null, hourlyPriceUsd: 1.1, sshUser: sshd.user });
    const down = await cli(['--down'], stateDir);
    expect(down.code).toBe(0);
    expect(await readFile(join(sshd.hostState, 'docker.log'), 'utf8')).toMatch(/docker rm -f deepconf-vllm\s*$/);
    await expect(stat(join(remoteDir, '.env'))).rejects.toThrow(/ENOENT/);
    expect(fake.launches.some((l) => l.name === 'own-box')).toBe(false);
  }, 60_000);

  // Last: it stops sshd.
  test('launches, tunnels, records state; requests go through the tunnel; a dropped tunnel is restarted; --down cleans up', async () => {
    const stateDir = join(dir, 'ok', '.deploy');
    const up = await bin(await launchArgs('deepconf-e2e'), stateDir);
    expect({ code: up.code, stderr: up.code === 0 ? '' : up.stderr }).toEqual({ code: 0, stderr: '' });
    expect(fake.launches.filter((l) => l.name === 'deepconf-e2e')).toEqual([
      { name: 'deepconf-e2e', region: 'us-east-1', type: 'gpu_1x_a10', sshKeys: ['test-key'] },
    ]);

    const state = await readDeploymentState(stateDir);
    expect(state.deployments).toHaveLength(1);
    const d = state.deployments[0]!;
    const instanceId = [...fake.instances.values()].find((i) => i.name === 'deepconf-e2e')!.id;
    expect(d).toMatchObject({ instanceId, host: '127.0.0.1', model: MODEL, hourlyPriceUsd: 0.75, provider: 'lambda' });
    expect(d.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(up.stdout).toContain(d.endpoint);
    expect(d.tunnelStatus?.status).toBe('up');
    expect(deploymentCost(state, Date.parse(d.startedAt) + 2 * 3_600_000).totalUsd).toBeCloseTo(1.5, 6);

    // The container got the serve flags, and its port is bound to the host's loopback only.
    const dockerLog = await readFile(join(sshd.hostState, 'docker.log'), 'utf8');
    expect(dockerLog).toContain(`-p 127.0.0.1:${d.remotePort}:8000`);
    for (const flag of [
      '--max-logprobs 21',
      '--enable-prefix-caching',
      `--served-model-name ${MODEL}`,
      '--reasoning-parser qwen3',
      '--gpu-memory-utilization',
    ]) {
      expect(dockerLog).toContain(flag);
    }
    const remoteEnv = join(dir, 'remote-deepconf-e2e', '.env');
    expect((await stat(remoteEnv)).mode & 0o077).toBe(0);

    // What the experiment runner does: take the endpoint from the state and call the server through the tunnel.
    const models = await fetch(`${d.endpoint}/models`, {
      headers: { authorization: `Bearer ${SECRETS.VLLM_API_KEY}` },
    });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toContain(MODEL);
    expect((await fetch(`${d.endpoint}/models`)).status).toBe(401);

    // `npm run experiment` from the directory holding .deploy/ finds the endpoint by itself and runs through the tunnel.
    const runDir = join(dir, 'run');
    const experiment = await execa(
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [
        '--conditions=@deepconf-safety/source',
        join(REPO_ROOT, 'packages/cli/src/bin/experiment.ts'),
        '--model',
        MODEL,
        '--benchmark',
        'xstest',
        '--num-instances',
        '2',
        '--traces',
        '2',
        '--warmup',
        '1',
        '--window',
        '8',
        '--max-tokens',
        '24',
        '--no-report',
        '--output',
        runDir,
      ],
      { cwd: join(dir, 'ok'), reject: false, env: { VLLM_API_KEY: SECRETS.VLLM_API_KEY, CI: '' }, timeout: 45_000 },
    );
    output.push(String(experiment.stdout), String(experiment.stderr));
    expect({
      code: experiment.exitCode,
      stderr: experiment.exitCode === 0 ? '' : String(experiment.stderr).slice(-2000),
    }).toEqual({ code: 0, stderr: '' });
    const manifest = JSON.parse(await readFile(join(runDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(manifest)).toContain(d.endpoint);
    expect(JSON.stringify(manifest)).not.toContain(SECRETS.VLLM_API_KEY);
    expect(manifest['cost']).toMatchObject({ hourlyPriceUsd: 0.75 });

    const st = await cli(['--status', '--lambda-api-url', fake.url], stateDir);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain(`healthy, tunnel up, instance ${instanceId} (active)`);
    expect(st.stdout).toMatch(/\$0\.75\/h = \$\d+\.\d\d/);

    // Drop the tunnel mid-run: the keeper starts a new ssh and the endpoint works again.
    const sshPid = d.tunnelStatus!.sshPid!;
    process.kill(sshPid, 'SIGKILL');
    const restarted = await waitFor('tunnel restart', async () => {
      const t = (await readDeploymentState(stateDir)).deployments[0]?.tunnelStatus;
      return t && t.status === 'up' && t.restarts >= 1 && t.sshPid !== sshPid ? t : null;
    });
    expect(restarted.restarts).toBeGreaterThanOrEqual(1);
    const again = await fetch(`${d.endpoint}/models`, { headers: { authorization: `Bearer ${SECRETS.VLLM_API_KEY}` } });
    expect(again.status).toBe(200);

    // Secrets never reach the state dir, the keeper log or our output.
    const keeperPid = restarted.keeperPid;
    for (const file of await allFiles(stateDir)) {
      const text = await readFile(file, 'utf8');
      for (const secret of Object.values(SECRETS))
        expect({ file, leaked: text.includes(secret) }).toEqual({ file, leaked: false });
    }

    // Now the host goes away for good: the keeper gives up with a clear message, --down still terminates.
    await sshd.stop();
    process.kill(restarted.sshPid!, 'SIGKILL');
    const failed = await waitFor('tunnel failure', async () => {
      const t = (await readDeploymentState(stateDir)).deployments[0]?.tunnelStatus;
      return t?.status === 'failed' ? t : null;
    });
    expect(failed.message).toMatch(/could not be re-established after 3 attempts.*--down/);
    const lost = await cli(['--status'], stateDir);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain('NOT healthy, tunnel failed');
    expect(lost.stdout).toContain('could not be re-established');

    const down = await cli(['--down'], stateDir);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('Removed deepconf-e2e');
    expect(fake.terminations).toContain(instanceId);
    expect(fake.running()).toEqual([]);
    expect((await readDeploymentState(stateDir)).deployments).toEqual([]);
    expect(processAlive(keeperPid)).toBe(false);
    const printed = output.join('\n');
    for (const secret of Object.values(SECRETS)) expect(printed.includes(secret)).toBe(false);
  }, 90_000);
});
