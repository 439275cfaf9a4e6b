import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeployConfigError,
  HealthCheckTimeoutError,
  HostCheckError,
  InsufficientCapacityError,
  LambdaApiError,
  SshError,
  TunnelError,
  isDeployError,
} from './errors.js';
import {
  LambdaClient,
  NETWORK_ERROR_STATUS,
  abortable,
  type Instance,
  type LambdaClientOptions,
} from './lambda-client.js';
import { renderRemoteEnv, type ServeConfig } from './remote-env.js';
import { makeRedactor, type Secrets } from './secrets.js';
import { Ssh, execaExec, type Exec } from './ssh.js';
import {
  DEFAULT_STATE_DIR,
  INSTANCE_NAME_PREFIX,
  ensureDeploymentDir,
  instanceNameFor,
  writeLaunchRecord,
  type LaunchRecord,
  keeperLogPath,
  readDeploymentRecord,
  readDeploymentState,
  readTunnelStatus,
  removeDeploymentDir,
  writeDeploymentRecord,
  type Deployment,
  type DeploymentRecord,
} from './state.js';
import { spawnTunnelKeeper, sshTargetOf, stopTunnelKeeper } from './tunnel-keeper.js';

/** The vLLM image deploy starts; pinned because `latest` moves. Keep in sync with docker/compose.yaml. */
export const DEFAULT_VLLM_IMAGE = 'vllm/vllm-openai:v0.11.0';
export const DEFAULT_DOCKER_DIR = fileURLToPath(new URL('../../docker/', import.meta.url));

export type DeployOptions = {
  /** Where deployment state lives (default `.deploy`). */
  stateDir?: string;
  /** `lambda` launches instances; `ssh` uses `host` the user already has. */
  provider: 'lambda' | 'ssh';
  /** For provider `ssh`: `user@ip` or `ip`. */
  host?: string;
  /** Lambda instance type, e.g. `gpu_1x_a100_sxm4`. */
  instanceType?: string;
  /** Lambda region; default: the first with capacity. */
  region?: string;
  /** Name of an SSH key registered with Lambda (its private half is `identityFile`). */
  sshKeyName?: string;
  /** Instances to launch; each becomes one endpoint. Default 1. */
  count?: number;
  /** Deployment (and Lambda instance) name; a retry with the same name reuses what it launched. */
  name?: string;
  lambdaApiUrl?: string;
  sshUser?: string;
  sshPort?: number;
  identityFile?: string | null;
  /** Hugging Face model id. */
  model: string;
  servedModelName?: string;
  image?: string;
  maxModelLen?: number;
  gpuMemoryUtilization?: number;
  /** ≥ the top-logprobs experiments request; default 21 = DeepConf's k=20 plus the sampled token, so chat can return the exact top-20 set. */
  maxLogprobs?: number;
  tensorParallelSize?: number;
  dataParallelSize?: number;
  reasoningParser?: string;
  /** vLLM's port on the remote loopback. Default 8000. */
  remotePort?: number;
  /** First local tunnel port (deployment i gets port + i); 0 or unset = pick free ports. */
  localPort?: number;
  dockerDir?: string;
  /** Directory on the remote host, relative to the login's home. */
  remoteDir?: string;
  /** Price for `ssh` hosts, for cost tracking (Lambda's own price is used otherwise). */
  hourlyPriceUsd?: number;
  activeTimeoutMs?: number;
  pollMs?: number;
  /** How long to retry ssh connection failures (default 5 min for Lambda, none for --host). */
  sshReadyTimeoutMs?: number;
  healthTimeoutMs?: number;
  healthPollMs?: number;
  /** Leave instances running when a launch step fails (for debugging). */
  keep?: boolean;
  tunnelMaxAttempts?: number;
  tunnelBackoffMs?: number;
  serverAliveIntervalS?: number;
};

export type DeployDeps = {
  secrets: Secrets;
  /** Used for /health probes through the tunnel. */
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  exec?: Exec;
  log?: (line: string) => void;
  /** A ready client (tests); otherwise one is built from the secrets, the recorded API URL and `lambdaOptions`. */
  lambda?: LambdaClient;
  /** Rate-limit settings for clients built here (defaults follow Lambda's documented limits). */
  lambdaOptions?: Pick<
    LambdaClientOptions,
    'minIntervalMs' | 'launchSpacingMs' | 'maxRetries' | 'initialBackoffMs' | 'requestTimeoutMs' | 'callTimeoutMs'
  >;
  spawnKeeper?: (stateDir: string, name: string) => Promise<number>;
  signal?: AbortSignal;
};

type Resolved = {
  fetch: typeof globalThis.fetch;
  now: () => number;
  /** Not interrupted by the signal: clean-up uses it after an abort. */
  sleep: (ms: number) => Promise<void>;
  /** A wait that the signal (Ctrl-C, SIGTERM) ends at once with its reason. */
  wait: (ms: number) => Promise<void>;
  signal: AbortSignal | undefined;
  exec: Exec;
  log: (line: string) => void;
  redact: (text: string) => string;
};

function resolveDeps(deps: Omit<DeployDeps, 'secrets'> & { secrets: Secrets }): Resolved {
  const redact = makeRedactor(deps.secrets);
  const log = deps.log ?? ((line: string) => console.error(line));
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    fetch: deps.fetch ?? globalThis.fetch,
    now: deps.now ?? Date.now,
    sleep,
    wait: (ms) => abortable(sleep(ms), deps.signal),
    signal: deps.signal,
    exec: deps.exec ?? execaExec,
    log: (line) => log(redact(line)),
    redact,
  };
}

function lambdaClientFor(options: { lambdaApiUrl?: string }, deps: DeployDeps): LambdaClient {
  if (deps.lambda) return deps.lambda;
  if (!deps.secrets.lambdaApiKey) {
    throw new DeployConfigError(
      'LAMBDA_API_KEY is not set: put it in the environment or in a git-ignored .env file (or use --host for your own machine).',
    );
  }
  return new LambdaClient({
    apiKey: deps.secrets.lambdaApiKey,
    ...(options.lambdaApiUrl ? { baseUrl: options.lambdaApiUrl } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...deps.lambdaOptions,
  });
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);

/** Default name is derived from the model so that re-running the same command finds its instance. */
export const defaultDeploymentName = (model: string) => `deepconf-${slug(model.split('/').pop() ?? model)}`;

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function positiveInt(value: number | undefined, fallback: number, flag: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new DeployConfigError(`${flag} must be a positive integer, got ${String(value)}`);
  return v;
}

/** The deployment names to create, refused when one is already recorded (a second launch would bill twice). */
async function deploymentNames(
  options: DeployOptions,
  model: string,
  count: number,
  stateDir: string,
): Promise<{ baseName: string; names: string[] }> {
  const baseName = options.name ?? defaultDeploymentName(model);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/.test(baseName)) {
    throw new DeployConfigError(
      `--name "${baseName}" must be letters, digits, ".", "_" or "-" (at most 61 characters).`,
    );
  }
  const names = count === 1 ? [baseName] : Array.from({ length: count }, (_, i) => `${baseName}-${i + 1}`);
  const existing = await readDeploymentState(stateDir);
  for (const name of names) {
    if (existing.deployments.some((x) => x.name === name)) {
      throw new DeployConfigError(
        `deployment "${name}" is already recorded in ${stateDir}; use --status, or --down first (or pick another --name).`,
      );
    }
  }
  return { baseName, names };
}

function serveConfigFrom(
  options: DeployOptions,
  model: string,
  servedModelName: string,
  sizes: { tp: number; dp: number; maxLogprobs: number },
): Omit<ServeConfig, 'containerName'> {
  const serve: Omit<ServeConfig, 'containerName'> = {
    image: options.image ?? DEFAULT_VLLM_IMAGE,
    model: model,
    servedModelName,
    hostPort: options.remotePort ?? 8000,
    maxModelLen: positiveInt(options.maxModelLen, 16384, '--max-model-len'),
    gpuMemoryUtilization: options.gpuMemoryUtilization ?? 0.9,
    maxLogprobs: sizes.maxLogprobs,
    tensorParallelSize: sizes.tp,
    dataParallelSize: sizes.dp,
    reasoningParser: options.reasoningParser ?? 'qwen3',
  };
  if (!(serve.gpuMemoryUtilization > 0 && serve.gpuMemoryUtilization <= 1)) {
    throw new DeployConfigError(`--gpu-memory-utilization must be in (0, 1], got ${serve.gpuMemoryUtilization}`);
  }
  return serve;
}

/**
 * Launches (or reuses) instances, starts vLLM on each, opens a kept-alive tunnel per instance and
 * records them in the state dir. On any failure everything launched here is torn down again
 * unless `keep` is set; the error says what happened.
 */
export async function deploy(options: DeployOptions, deps: DeployDeps): Promise<Deployment[]> {
  const d = resolveDeps(deps);
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const count = positiveInt(options.count, 1, '--count');
  const tp = positiveInt(options.tensorParallelSize, 1, '--tensor-parallel-size');
  const dp = positiveInt(options.dataParallelSize, 1, '--data-parallel-size');
  const maxLogprobs = positiveInt(options.maxLogprobs, 21, '--max-logprobs');
  if (!options.model)
    throw new DeployConfigError('--model is required (a Hugging Face model id, e.g. Qwen/Qwen3-1.7B).');
  if (!deps.secrets.vllmApiKey) {
    throw new DeployConfigError(
      'VLLM_API_KEY is not set: put a random key in the environment or .env; the server requires it and the experiment runner sends it.',
    );
  }
  const { baseName, names } = await deploymentNames(options, options.model, count, stateDir);
  const servedModelName = options.servedModelName ?? options.model;
  const serve = serveConfigFrom(options, options.model, servedModelName, { tp, dp, maxLogprobs });

  const launched: { name: string; instanceId: string | null }[] = [];
  const lambda = options.provider === 'lambda' ? lambdaClientFor(options, deps) : null;
  const onAbort = () => d.log('Interrupted: cleaning up…');
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let targets: { name: string; host: string; instance: Instance | null; region: string | null; price: number }[];
    if (options.provider === 'ssh') {
      if (!options.host) throw new DeployConfigError('--host user@ip is required without Lambda.');
      if (count !== 1)
        throw new DeployConfigError(
          '--count applies to Lambda launches; with --host, deploy each host separately with its own --name.',
        );
      launched.push({ name: baseName, instanceId: null });
      targets = [
        { name: baseName, host: options.host, instance: null, region: null, price: options.hourlyPriceUsd ?? 0 },
      ];
    } else {
      targets = await launchInstances(lambda!, names, options, d, launched, stateDir, deps.signal);
    }
    const firstLocal = options.localPort ?? 0;
    const deployments = await Promise.all(
      targets.map(async (t, i) => {
        const [userPart, hostPart] = t.host.includes('@')
          ? (t.host.split('@', 2) as [string, string])
          : [options.sshUser ?? 'ubuntu', t.host];
        const localPort = firstLocal > 0 ? firstLocal + i : await freePort();
        const record: DeploymentRecord = {
          version: 1,
          name: t.name,
          provider: options.provider,
          instanceId: t.instance?.id ?? null,
          region: t.region,
          instanceType: options.provider === 'lambda' ? (options.instanceType ?? null) : null,
          host: hostPart,
          sshUser: userPart,
          sshPort: options.sshPort ?? 22,
          identityFile: options.identityFile ? resolve(options.identityFile) : null,
          model: options.model,
          servedModelName,
          endpoint: `http://127.0.0.1:${localPort}/v1`,
          localPort,
          remotePort: serve.hostPort,
          remoteDir: options.remoteDir ?? 'deepconf-safety',
          startedAt: new Date(d.now()).toISOString(),
          hourlyPriceUsd: t.price,
          dataParallelSize: dp,
          tensorParallelSize: tp,
          lambdaApiUrl: lambda?.baseUrl ?? null,
          tunnel: {
            maxAttempts: positiveInt(options.tunnelMaxAttempts, 8, '--tunnel-max-attempts'),
            backoffMs: options.tunnelBackoffMs ?? 1000,
            serverAliveIntervalS: positiveInt(options.serverAliveIntervalS, 15, '--server-alive-interval'),
          },
        };
        deps.signal?.throwIfAborted();
        return provision(record, { ...serve, containerName: 'deepconf-vllm' }, options, deps, d, stateDir);
      }),
    );
    return deployments;
  } catch (error) {
    if (options.keep) {
      d.log(
        `Launch failed; --keep given, so ${launched.map((l) => l.instanceId ?? l.name).join(', ')} stay up. Remove with --down.`,
      );
      throw error;
    }
    const notes = await cleanUp(launched, stateDir, lambda, options.provider === 'ssh', d);
    const message = `${isDeployError(error) ? error.message : d.redact(String((error as Error)?.message ?? error))}\n${notes}`;
    if (error instanceof Error) {
      error.message = d.redact(message);
      throw error;
    }
    throw new DeployConfigError(d.redact(message));
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
  }
}

async function launchInstances(
  lambda: LambdaClient,
  names: string[],
  options: DeployOptions,
  d: Resolved,
  launched: { name: string; instanceId: string | null }[],
  stateDir: string,
  signal: AbortSignal | undefined,
) {
  if (!options.instanceType) throw new DeployConfigError('--instance-type is required for Lambda (see --list-types).');
  if (!options.sshKeyName)
    throw new DeployConfigError(
      '--ssh-key-name is required for Lambda: the name of an SSH key in your Lambda account.',
    );
  const types = await lambda.listInstanceTypes();
  const type = types.find((t) => t.name === options.instanceType);
  if (!type) {
    throw new DeployConfigError(
      `--instance-type "${options.instanceType}" is not offered; available: ${types.map((t) => t.name).join(', ') || '(none)'}.`,
    );
  }
  const needGpus = (options.tensorParallelSize ?? 1) * (options.dataParallelSize ?? 1);
  if (type.gpus !== null && type.gpus < needGpus) {
    throw new DeployConfigError(
      `${type.name} has ${type.gpus} GPU(s) but tensor × data parallel size needs ${needGpus}.`,
    );
  }
  const running = (await lambda.listInstances()).filter((i) => i.status !== 'terminated' && i.status !== 'terminating');
  const region = options.region ?? type.regionsWithCapacity[0];
  const reused = names.filter((n) => running.some((i) => i.name === instanceNameFor(n)));
  if (reused.length < names.length && (region === undefined || !type.regionsWithCapacity.includes(region))) {
    throw new InsufficientCapacityError(
      `Lambda has no capacity for ${type.name}${options.region ? ` in ${options.region}` : ''} right now` +
        (type.regionsWithCapacity.length ? ` (regions with capacity: ${type.regionsWithCapacity.join(', ')})` : '') +
        '. Try another --instance-type or --region, or retry later. Nothing was launched.',
      409,
      'instance-operations/launch/insufficient-capacity',
    );
  }
  const ids: { name: string; id: string }[] = [];
  for (const name of names) {
    signal?.throwIfAborted();
    const instanceName = instanceNameFor(name);
    const record = (id: string): LaunchRecord => ({
      version: 1,
      name,
      instanceId: id,
      instanceName,
      lambdaApiUrl: lambda.baseUrl,
      launchedAt: new Date(d.now()).toISOString(),
      instanceType: type.name,
      region: region ?? null,
      hourlyPriceUsd: type.hourlyPriceUsd,
    });
    const found = running.find((i) => i.name === instanceName);
    if (found) {
      d.log(`Found instance ${found.id} already launched as "${instanceName}"; reusing it.`);
      launched.push({ name, instanceId: found.id });
      await writeLaunchRecord(stateDir, record(found.id));
      ids.push({ name, id: found.id });
      continue;
    }
    d.log(`Launching ${type.name} in ${region} as "${instanceName}" ($${type.hourlyPriceUsd.toFixed(2)}/h)…`);
    const id = await launchOne(
      lambda,
      { regionName: region!, instanceTypeName: type.name, sshKeyName: options.sshKeyName, name: instanceName },
      d,
    );
    // Recorded before anything else is awaited: from here on a kill of any kind leaves a trace --down can end.
    launched.push({ name, instanceId: id });
    await writeLaunchRecord(stateDir, record(id));
    d.log(`Launched ${id}; recorded in ${stateDir}/${name}/launch.json.`);
    ids.push({ name, id });
  }
  return Promise.all(
    ids.map(async ({ name, id }) => {
      d.log(`Waiting for ${id} to become active…`);
      const instance = await lambda.waitForActive(id, {
        timeoutMs: options.activeTimeoutMs ?? 15 * 60_000,
        pollMs: options.pollMs ?? 5000,
        ...(signal ? { signal } : {}),
      });
      d.log(`${id} is active at ${instance.ip}.`);
      return {
        name,
        host: instance.ip,
        instance,
        region: instance.region ?? region ?? null,
        price: instance.hourlyPriceUsd ?? type.hourlyPriceUsd,
      };
    }),
  );
}

/**
 * One launch call. When it gets no answer, the instance may exist all the same: look for it by its name before
 * giving up, never launch a second one blindly.
 */
async function launchOne(
  lambda: LambdaClient,
  request: { regionName: string; instanceTypeName: string; sshKeyName: string; name: string },
  d: Resolved,
): Promise<string> {
  let launchedIds: string[];
  try {
    launchedIds = await lambda.launch(request);
  } catch (error) {
    if (!(error instanceof LambdaApiError) || error.status !== NETWORK_ERROR_STATUS) throw error;
    d.log(`The launch call got no answer; checking whether Lambda started "${request.name}" anyway…`);
    const found = (await lambda.listInstances()).find((i) => i.name === request.name && i.status !== 'terminated');
    if (!found) throw error;
    return found.id;
  }
  const id = launchedIds[0];
  if (id === undefined)
    throw new InsufficientCapacityError(
      `Lambda accepted the launch of "${request.name}" but started no instance.`,
      200,
      null,
    );
  return id;
}

async function provision(
  record: DeploymentRecord,
  serve: ServeConfig,
  options: DeployOptions,
  deps: DeployDeps,
  d: Resolved,
  stateDir: string,
): Promise<Deployment> {
  await ensureDeploymentDir(stateDir, record.name);
  const ssh = new Ssh(sshTargetOf(stateDir, record), d.exec, d.redact);
  const where = `${record.sshUser}@${record.host}`;
  d.log(`${record.name}: connecting to ${where}…`);
  const gpus = await hostCheck(ssh, where, serve, options, d);
  d.log(`${record.name}: ${gpus.docker}, GPUs: ${gpus.names.join('; ')}`);

  const dockerDir = options.dockerDir ?? DEFAULT_DOCKER_DIR;
  const files = (await readdir(dockerDir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.env'))
    .map((e) => join(dockerDir, e.name));
  if (!files.some((f) => f.endsWith('serve.sh')))
    throw new DeployConfigError(`${dockerDir} has no serve.sh; point --docker-dir at the project's docker/ folder.`);
  // One round trip: every ssh login costs a handshake plus the remote shell's startup files.
  await ssh.run(['sh', '-c', 'mkdir -p "$1" && umask 077 && cat > "$1/.env"', 'sh', record.remoteDir], {
    input: renderRemoteEnv(serve, {
      vllmApiKey: deps.secrets.vllmApiKey!,
      ...(deps.secrets.hfToken ? { hfToken: deps.secrets.hfToken } : {}),
    }),
    what: 'write .env',
    signal: d.signal,
  });
  await ssh.copyFiles(files, record.remoteDir, d.signal);
  d.log(`${record.name}: pulling ${serve.image} and starting vLLM (${serve.model})…`);
  await ssh.run(['bash', `${record.remoteDir}/serve.sh`, 'up'], {
    what: 'serve.sh up',
    timeoutMs: 30 * 60_000,
    signal: d.signal,
  });

  await writeDeploymentRecord(stateDir, record);
  await (deps.spawnKeeper ?? spawnTunnelKeeper)(stateDir, record.name);
  await waitHealthy(record, ssh, options, d, stateDir, deps.secrets.vllmApiKey!, deps.signal);
  d.log(`${record.name}: healthy; endpoint ${record.endpoint}`);
  return { ...record, tunnelStatus: await readTunnelStatus(stateDir, record.name) };
}

// Docker and GPU checks in one login; the markers keep the two answers apart.
async function hostCheck(ssh: Ssh, where: string, serve: ServeConfig, options: DeployOptions, d: Resolved) {
  const script =
    'if v=$(docker version --format "{{.Server.Version}}" 2>&1); then echo "docker-ok $v"; else echo "docker-failed $v"; fi; ' +
    'echo "--gpus--"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 || echo "gpu-failed"';
  // A fresh cloud instance may need minutes for sshd; a machine the user already runs should answer now.
  const deadline = d.now() + (options.sshReadyTimeoutMs ?? (options.provider === 'ssh' ? 0 : 5 * 60_000));
  let out: string;
  for (;;) {
    try {
      out = (await ssh.run(['sh', '-c', script], { what: 'docker/GPU check', timeoutMs: 60_000, signal: d.signal }))
        .stdout;
      break;
    } catch (error) {
      // A fresh instance can be `active` before sshd accepts logins: retry only connection failures.
      const pollMs = options.pollMs ?? 5000;
      if (!(error instanceof SshError) || error.exitCode !== 255 || d.now() + pollMs > deadline) throw error;
      await d.wait(pollMs);
    }
  }
  const [dockerPart = '', gpuPart = ''] = out.split('--gpus--');
  const docker = dockerPart.trim();
  if (!docker.startsWith('docker-ok')) {
    throw new HostCheckError(
      `${where} cannot run Docker (${d.redact(docker.replace(/^docker-failed\s*/, '')).slice(0, 300) || 'no output'}). Install Docker and add the login user to the "docker" group.`,
    );
  }
  const names = gpuPart.trim().split('\n').filter(Boolean);
  if (names.includes('gpu-failed') || names.length === 0) {
    throw new HostCheckError(`${where} shows no NVIDIA GPU (nvidia-smi: ${d.redact(gpuPart.trim()).slice(0, 300)}).`);
  }
  const need = serve.tensorParallelSize * serve.dataParallelSize;
  if (names.length < need)
    throw new HostCheckError(`${where} has ${names.length} GPU(s); tensor × data parallel size needs ${need}.`);
  return { docker: `Docker ${docker.replace(/^docker-ok\s*/, '')}`, names };
}

async function waitHealthy(
  record: DeploymentRecord,
  ssh: Ssh,
  options: DeployOptions,
  d: Resolved,
  stateDir: string,
  apiKey: string,
  signal: AbortSignal | undefined,
) {
  // The health clock starts once the tunnel is up, so a slow keeper start never eats into it.
  const tunnelDeadline = d.now() + 60_000;
  for (;;) {
    signal?.throwIfAborted();
    const tunnel = await readTunnelStatus(stateDir, record.name);
    if (tunnel?.status === 'up') break;
    if (tunnel?.status === 'failed')
      throw new TunnelError(`${record.name}: ${tunnel.message ?? 'the SSH tunnel failed'}`);
    if (d.now() > tunnelDeadline) {
      throw new TunnelError(
        `${record.name}: the SSH tunnel to ${record.host} did not come up within 60 s; see ${keeperLogPath(stateDir, record.name)}.`,
      );
    }
    await d.wait(Math.min(options.healthPollMs ?? 5000, 200));
  }
  const timeoutMs = options.healthTimeoutMs ?? 20 * 60_000;
  const deadline = d.now() + timeoutMs;
  const url = record.endpoint.replace(/\/v1$/, '');
  let lastProblem = 'no answer yet';
  for (;;) {
    signal?.throwIfAborted();
    const tunnel = await readTunnelStatus(stateDir, record.name);
    if (tunnel?.status === 'failed')
      throw new TunnelError(`${record.name}: ${tunnel.message ?? 'the SSH tunnel failed'}`);
    try {
      const response = await d.fetch(`${url}/health`, { signal: withTimeout(5000, signal) });
      if (response.ok) break;
      lastProblem = `/health answered HTTP ${response.status}`;
    } catch (error) {
      // Until the model is loaded the port refuses connections; through the tunnel that shows as a reset.
      lastProblem = `/health unreachable (${(error as Error).message})`;
    }
    if (d.now() + (options.healthPollMs ?? 5000) > deadline) {
      const log = await ssh
        .run(['bash', `${record.remoteDir}/serve.sh`, 'logs'], { what: 'serve.sh logs', timeoutMs: 30_000 })
        .then((r) => d.redact(`${r.stdout}${r.stderr}`).split('\n').slice(-60).join('\n'))
        .catch((error: Error) => `(could not read the container log: ${error.message})`);
      throw new HealthCheckTimeoutError(
        `${record.name}: vLLM on ${record.host} was not healthy after ${Math.round(timeoutMs / 1000)} s (${lastProblem}). ` +
          `Raise --health-timeout for big models, or check the log:\n--- container log (last lines) ---\n${log}`,
        log,
      );
    }
    await d.wait(options.healthPollMs ?? 5000);
  }
  const models = await d.fetch(`${record.endpoint}/models`, {
    headers: { authorization: `Bearer ${apiKey}` },
    signal: withTimeout(10_000, signal),
  });
  if (!models.ok)
    throw new HealthCheckTimeoutError(
      `${record.name}: GET /v1/models answered HTTP ${models.status}; check VLLM_API_KEY.`,
      '',
    );
  const body = (await models.json()) as { data?: { id?: unknown }[] };
  const ids = (body.data ?? []).map((m) => String(m.id));
  if (!ids.includes(record.servedModelName)) {
    throw new HealthCheckTimeoutError(
      `${record.name}: the server serves ${ids.join(', ') || 'no model'}, not "${record.servedModelName}".`,
      '',
    );
  }
}

const withTimeout = (ms: number, signal: AbortSignal | undefined): AbortSignal =>
  signal ? AbortSignal.any([AbortSignal.timeout(ms), signal]) : AbortSignal.timeout(ms);

async function cleanUp(
  launched: { name: string; instanceId: string | null }[],
  stateDir: string,
  lambda: LambdaClient | null,
  stopContainers: boolean,
  d: Resolved,
): Promise<string> {
  const notes: string[] = [];
  for (const { name } of launched) await stopTunnelKeeper(stateDir, name, d.sleep);
  if (stopContainers) {
    for (const { name } of launched) {
      const record = await readDeploymentRecord(stateDir, name).catch(() => null);
      if (record) await stopRemote(record, stateDir, d).catch(() => undefined);
    }
  }
  const ids = launched.map((l) => l.instanceId).filter((id): id is string => id !== null);
  if (lambda && ids.length) {
    try {
      await terminateAndConfirm(lambda, ids, d);
      notes.push(`Terminated instance(s) ${ids.join(', ')}; nothing is left running.`);
    } catch (error) {
      notes.push(
        `Could NOT terminate ${ids.join(', ')} (${(error as Error).message}); they stay recorded in ${stateDir}: ` +
          '`npm run deploy:lambda -- --status` shows them and `--down` ends them (or use the Lambda console). Billing continues until then.',
      );
      return notes.join('\n');
    }
  } else if (stopContainers) {
    notes.push('Stopped the container; the host itself is yours and stays up.');
  }
  for (const { name } of launched) await removeDeploymentDir(stateDir, name);
  return notes.join('\n');
}

async function stopRemote(record: DeploymentRecord, stateDir: string, d: Resolved): Promise<void> {
  const ssh = new Ssh(sshTargetOf(stateDir, record), d.exec, d.redact);
  await ssh.run(['bash', `${record.remoteDir}/serve.sh`, 'down'], { what: 'serve.sh down', timeoutMs: 60_000 });
  await ssh.run(['rm', '-f', `${record.remoteDir}/.env`], { what: 'remove .env', timeoutMs: 30_000 });
}

// Lambda's terminate answer may not list every instance: poll until each is terminating or gone.
async function terminateAndConfirm(lambda: LambdaClient, ids: string[], d: Resolved): Promise<void> {
  await lambda.terminate(ids);
  for (let round = 0; round < 5; round++) {
    const pending: string[] = [];
    for (const id of ids) {
      const instance = await lambda.getInstance(id);
      if (instance !== null && instance.status !== 'terminated' && instance.status !== 'terminating') pending.push(id);
    }
    if (pending.length === 0) return;
    d.log(`Still running: ${pending.join(', ')}; asking Lambda again.`);
    await d.sleep(2000);
    await lambda.terminate(pending);
  }
  throw new DeployConfigError(`instances ${ids.join(', ')} did not reach "terminating"`);
}

export type TeardownOptions = {
  stateDir?: string;
  /**
   * Deployment names to remove; default all recorded. A name may also be that of a running `deepconf-…` instance
   * .deploy/ does not know (another checkout's): naming it is how one such instance is ended.
   */
  names?: string[];
  /**
   * Also end every running `deepconf-…` instance .deploy/ does not know. Off by default: the name prefix is shared by
   * every checkout on the account, so without this (or --name) such instances are listed, never ended.
   */
  allByPrefix?: boolean;
  lambdaApiUrl?: string;
};

export type TeardownResult = {
  removed: Deployment[];
  costUsd: number;
  messages: string[];
  /** Instance ids of pending launches and untracked instances that were terminated. */
  strays: string[];
  /** Untracked `deepconf-…` instances found by prefix and left running (no --all-by-prefix, not named). */
  leftRunning: Instance[];
};

/** Stops tunnels, containers (own hosts) and terminates Lambda instances, then forgets them. */
export async function teardown(options: TeardownOptions, deps: DeployDeps): Promise<TeardownResult> {
  const d = resolveDeps(deps);
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const state = await readDeploymentState(stateDir);
  const selected = options.names ? state.deployments.filter((x) => options.names!.includes(x.name)) : state.deployments;
  // Asked first: a --name may be an instance only Lambda knows, and what bills must be known before anything ends.
  const found = await findStrays(state, options, deps);
  if (options.names) {
    const unknown = options.names.filter(
      (n) =>
        !state.deployments.some((x) => x.name === n) &&
        !state.pending.some((p) => p.name === n) &&
        !found.untracked.some((i) => i.name === n),
    );
    if (unknown.length)
      throw new DeployConfigError(`no deployment named ${unknown.join(', ')} in ${stateDir} (see --status).`);
  }
  const messages: string[] = [];
  const costUsd = selected.reduce(
    (sum, x) => sum + (Math.max(0, d.now() - Date.parse(x.startedAt)) / 3_600_000) * x.hourlyPriceUsd,
    0,
  );
  for (const x of selected) {
    await stopTunnelKeeper(stateDir, x.name, d.sleep);
    if (x.provider === 'ssh') {
      await stopRemote(x, stateDir, d).then(
        () => messages.push(`${x.name}: container stopped on ${x.host}.`),
        (error: Error) => messages.push(`${x.name}: could not stop the container on ${x.host} (${error.message}).`),
      );
    }
  }
  const lambdaOnes = selected.filter((x) => x.provider === 'lambda' && x.instanceId !== null);
  const failed = new Set<string>();
  if (lambdaOnes.length) {
    const lambda = lambdaClientFor(
      {
        ...((options.lambdaApiUrl ?? lambdaOnes[0]!.lambdaApiUrl)
          ? { lambdaApiUrl: options.lambdaApiUrl ?? lambdaOnes[0]!.lambdaApiUrl! }
          : {}),
      },
      deps,
    );
    const ids = lambdaOnes.map((x) => x.instanceId!);
    try {
      await terminateAndConfirm(lambda, ids, d);
      messages.push(`Terminated ${ids.join(', ')}.`);
    } catch (error) {
      for (const x of lambdaOnes) failed.add(x.name);
      messages.push(
        `Could NOT terminate ${ids.join(', ')}: ${d.redact((error as Error).message)}. State kept; retry --down or use the Lambda console.`,
      );
    }
  }
  for (const x of selected) if (!failed.has(x.name)) await removeDeploymentDir(stateDir, x.name);
  const { ended, leftRunning } = await endStrays(state, found, options, d, messages);
  for (const m of messages) d.log(m);
  return { removed: selected.filter((x) => !failed.has(x.name)), costUsd, messages, strays: ended, leftRunning };
}

/** Untracked instances --down ends: those named, or all with --all-by-prefix; the rest are only listed. */
function untrackedToEnd(found: Strays, options: TeardownOptions): { end: Instance[]; keep: Instance[] } {
  const chosen = (i: Instance) => (options.names ? options.names.includes(i.name ?? '') : options.allByPrefix === true);
  return { end: found.untracked.filter(chosen), keep: found.untracked.filter((i) => !chosen(i)) };
}

/**
 * Terminates launches that never became deployments (this checkout's launch records), and instances .deploy/ does
 * not know only when named or with --all-by-prefix: the `deepconf-` prefix is every checkout's on the account.
 */
async function endStrays(
  state: Awaited<ReturnType<typeof readDeploymentState>>,
  found: Strays,
  options: TeardownOptions,
  d: Resolved,
  messages: string[],
): Promise<{ ended: string[]; leftRunning: Instance[] }> {
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const pending = state.pending.filter((p) => !options.names || options.names.includes(p.name));
  if (found.lambda === null) {
    if (pending.length)
      messages.push(`Could NOT terminate ${pending.map((p) => p.instanceId).join(', ')}: ${found.problem}`);
    return { ended: [], leftRunning: [] };
  }
  const { end: untracked, keep } = untrackedToEnd(found, options);
  if (keep.length)
    messages.push(
      `Left running (not in ${stateDir}, found by the "${INSTANCE_NAME_PREFIX}" name prefix, maybe another checkout's): ` +
        `${keep.map(describeInstance).join('; ')}. End one with --down --name <name>, all of them with --down --all-by-prefix.`,
    );
  const ids = [...pending.map((p) => p.instanceId), ...untracked.map((i) => i.id)];
  if (ids.length === 0) return { ended: [], leftRunning: keep };
  try {
    await terminateAndConfirm(found.lambda, ids, d);
  } catch (error) {
    messages.push(
      `Could NOT terminate ${ids.join(', ')}: ${d.redact((error as Error).message)}. Retry --down or use the Lambda console.`,
    );
    return { ended: [], leftRunning: keep };
  }
  for (const p of pending) await removeDeploymentDir(stateDir, p.name);
  if (pending.length)
    messages.push(
      `Terminated ${pending.map((p) => `${p.instanceId} ("${p.name}", launched but never provisioned)`).join(', ')}.`,
    );
  if (untracked.length)
    messages.push(`Terminated ${untracked.map((i) => `${i.id} ("${i.name}", not in ${stateDir})`).join(', ')}.`);
  return { ended: ids, leftRunning: keep };
}

/** `"deepconf-x" (inst-1, gpu_1x_a10, $0.75/h, active)`: what a user needs to decide whether it is theirs. */
export function describeInstance(i: Instance): string {
  const price = i.hourlyPriceUsd === null ? 'price unknown' : `$${i.hourlyPriceUsd.toFixed(2)}/h`;
  return `"${i.name ?? '(no name)'}" (${i.id}, ${i.instanceType ?? 'unknown type'}, ${price}, ${i.status})`;
}

export type Strays = {
  /** Launched (launch.json) but never provisioned: the deploy was interrupted, crashed or could not terminate. */
  pending: Array<LaunchRecord & { instanceStatus: string | null }>;
  /** Running instances named `deepconf-…` that .deploy/ does not know (another checkout, a lost state dir, a crash). */
  untracked: Instance[];
  /** Why Lambda could not be asked (no key, no answer), or null. */
  problem: string | null;
  lambda: LambdaClient | null;
};

/** What bills on Lambda without a complete deployment record: what --status warns about and --down ends. */
export async function findStrays(
  state: Awaited<ReturnType<typeof readDeploymentState>>,
  options: { lambdaApiUrl?: string },
  deps: Partial<DeployDeps>,
): Promise<Strays> {
  const url =
    options.lambdaApiUrl ??
    state.pending[0]?.lambdaApiUrl ??
    state.deployments.find((x) => x.lambdaApiUrl)?.lambdaApiUrl ??
    undefined;
  const pending = state.pending.map((p) => ({ ...p, instanceStatus: null as string | null }));
  if (!deps.lambda && !deps.secrets?.lambdaApiKey) {
    return {
      pending,
      untracked: [],
      problem: 'LAMBDA_API_KEY is not set, so Lambda was not asked for instances this tool launched',
      lambda: null,
    };
  }
  const lambda = lambdaClientFor(url ? { lambdaApiUrl: url } : {}, { ...deps, secrets: deps.secrets ?? {} });
  let instances: Instance[];
  try {
    instances = await lambda.listInstances();
  } catch (error) {
    return {
      pending,
      untracked: [],
      problem: `could not list Lambda instances: ${(error as Error).message}`,
      lambda: null,
    };
  }
  const known = new Set([...state.deployments.map((x) => x.instanceId), ...state.pending.map((p) => p.instanceId)]);
  for (const p of pending) p.instanceStatus = instances.find((i) => i.id === p.instanceId)?.status ?? 'not listed';
  const live = (i: Instance) => i.status !== 'terminated' && i.status !== 'terminating';
  const untracked = instances.filter(
    (i) => live(i) && !known.has(i.id) && (i.name ?? '').startsWith(INSTANCE_NAME_PREFIX),
  );
  return { pending, untracked, problem: null, lambda };
}

export type StatusEntry = Deployment & {
  healthy: boolean;
  uptimeHours: number;
  costUsd: number;
  instanceStatus: string | null;
};

/** Recorded deployments with live health (through the tunnel), tunnel state, uptime and cost. */
export async function status(options: { stateDir?: string }, deps: Partial<DeployDeps> = {}): Promise<StatusEntry[]> {
  const d = resolveDeps({ ...deps, secrets: deps.secrets ?? {} });
  const state = await readDeploymentState(options.stateDir ?? DEFAULT_STATE_DIR);
  return Promise.all(
    state.deployments.map(async (x) => {
      const healthy = await d
        .fetch(`${x.endpoint.replace(/\/v1$/, '')}/health`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.ok)
        .catch(() => false);
      let instanceStatus: string | null = null;
      if (x.instanceId && (deps.lambda || deps.secrets?.lambdaApiKey)) {
        const lambda = lambdaClientFor(x.lambdaApiUrl ? { lambdaApiUrl: x.lambdaApiUrl } : {}, {
          ...deps,
          secrets: deps.secrets ?? {},
        });
        instanceStatus = (await lambda.getInstance(x.instanceId).catch(() => null))?.status ?? 'unknown';
      }
      const uptimeHours = Math.max(0, d.now() - Date.parse(x.startedAt)) / 3_600_000;
      return { ...x, healthy, uptimeHours, costUsd: uptimeHours * x.hourlyPriceUsd, instanceStatus };
    }),
  );
}

/** The container log of each deployment (redacted). */
export async function logs(
  options: { stateDir?: string; names?: string[]; lines?: number },
  deps: DeployDeps,
): Promise<{ name: string; log: string }[]> {
  const d = resolveDeps(deps);
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const state = await readDeploymentState(stateDir);
  const selected = options.names ? state.deployments.filter((x) => options.names!.includes(x.name)) : state.deployments;
  return Promise.all(
    selected.map(async (x) => {
      const ssh = new Ssh(sshTargetOf(stateDir, x), d.exec, d.redact);
      const r = await ssh.run(['bash', `${x.remoteDir}/serve.sh`, 'logs', String(options.lines ?? 200)], {
        what: 'serve.sh logs',
      });
      return { name: x.name, log: d.redact(r.stdout + r.stderr) };
    }),
  );
}
