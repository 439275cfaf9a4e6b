import yargs from 'yargs';
import {
  deploy,
  describeInstance,
  findStrays,
  logs,
  status,
  teardown,
  DEFAULT_VLLM_IMAGE,
  type DeployOptions,
  type Strays,
} from './deploy.js';
import { DeployConfigError } from './errors.js';
import { LambdaClient } from './lambda-client.js';
import { loadSecrets, makeRedactor } from './secrets.js';
import { preflight } from './preflight.js';
import { DEFAULT_STATE_DIR, readDeploymentState } from './state.js';

export type CliIo = {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  signal?: AbortSignal;
};

const seconds = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * 1000));

function parser(argv: string[]) {
  return (
    yargs(argv)
      .scriptName('npm run deploy:lambda --')
      .usage(
        'Deploy vLLM on Lambda Cloud (or --host) behind an SSH tunnel.\n\n' +
          '  $0 --model Qwen/Qwen3-1.7B --instance-type gpu_1x_a10 --ssh-key-name me -i ~/.ssh/id_ed25519\n' +
          '  $0 --status | --logs | --down | --list-types',
      )
      .option('model', { type: 'string', describe: 'Hugging Face model id to serve' })
      .option('served-model-name', { type: 'string', describe: 'Name clients send as "model" (default: --model)' })
      .option('instance-type', { type: 'string', describe: 'Lambda instance type (see --list-types)' })
      .option('region', { type: 'string', describe: 'Lambda region (default: first with capacity)' })
      .option('ssh-key-name', { type: 'string', describe: 'SSH key name registered in your Lambda account' })
      .option('identity', { alias: 'i', type: 'string', describe: 'Private key file for that SSH key' })
      .option('host', { type: 'string', describe: 'Use a machine you already have (user@ip) instead of launching' })
      .option('ssh-user', { type: 'string', default: 'ubuntu', describe: 'SSH login user when --host has no user@' })
      .option('ssh-port', { type: 'number', default: 22 })
      .option('count', { type: 'number', describe: 'Instances to launch, one endpoint each' })
      .option('name', {
        type: 'string',
        describe: 'Deployment / instance name (default deepconf-<model>); a retry reuses it',
      })
      .option('image', { type: 'string', default: DEFAULT_VLLM_IMAGE })
      .option('max-model-len', { type: 'number', default: 16384 })
      .option('gpu-memory-utilization', { type: 'number', default: 0.9 })
      .option('max-logprobs', {
        type: 'number',
        default: 21,
        describe: '≥ the top-logprobs experiments request (21 = k 20 + 1 for exact DeepConf confidence over chat)',
      })
      .option('tensor-parallel-size', { type: 'number', default: 1 })
      .option('data-parallel-size', { type: 'number', default: 1, describe: 'Replicas inside one multi-GPU instance' })
      .option('reasoning-parser', {
        type: 'string',
        default: 'qwen3',
        describe: 'vLLM reasoning parser ("" to disable)',
      })
      .option('remote-port', { type: 'number', default: 8000, describe: "vLLM's port on the server's loopback" })
      .option('local-port', { type: 'number', describe: 'First local tunnel port (default: free ports)' })
      .option('docker-dir', { type: 'string', describe: "Folder copied to the host (default: the project's docker/)" })
      .option('remote-dir', { type: 'string', default: 'deepconf-safety' })
      .option('hourly-price', { type: 'number', describe: 'USD/hour of a --host machine, for cost tracking' })
      .option('active-timeout', {
        type: 'number',
        default: 900,
        describe: 'Seconds to wait for the instance to be active',
      })
      .option('health-timeout', { type: 'number', default: 1200, describe: 'Seconds to wait for vLLM /health' })
      .option('poll-interval', { type: 'number', default: 5, describe: 'Seconds between polls' })
      .option('keep', { type: 'boolean', default: false, describe: 'Do not terminate when a launch step fails' })
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR })
      .option('secrets-file', { type: 'string', default: '.env', describe: 'Secrets file (git-ignored)' })
      .option('lambda-api-url', { type: 'string', describe: 'Lambda API base URL' })
      .option('status', { type: 'boolean', describe: 'Show deployments, health, uptime and cost' })
      .option('logs', { type: 'boolean', describe: 'Print the container log of each deployment' })
      .option('down', {
        type: 'boolean',
        describe:
          "Terminate and forget this checkout's deployments (all recorded in --state-dir, or --name); instances found only by the deepconf- name prefix are listed, not ended",
      })
      .option('all-by-prefix', {
        type: 'boolean',
        describe:
          "With --down: also end every running deepconf-* instance on the Lambda account that --state-dir does not know (other checkouts' too)",
      })
      .option('list-types', { type: 'boolean', describe: 'List Lambda instance types with price and capacity' })
      .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output' })
      // For tests and API gateways with other limits; the defaults follow Lambda's documented limits.
      .option('api-interval-ms', { type: 'number', hidden: true })
      .option('launch-spacing-ms', { type: 'number', hidden: true })
      .option('tunnel-max-attempts', { type: 'number', default: 8, hidden: true })
      .option('tunnel-backoff-ms', { type: 'number', default: 1000, hidden: true })
      .option('server-alive-interval', { type: 'number', default: 15, hidden: true })
      .conflicts('host', ['instance-type', 'ssh-key-name', 'count'])
      .conflicts('all-by-prefix', 'name')
      .implies('all-by-prefix', 'down')
      .strict()
      .help()
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new DeployConfigError(message);
      })
  );
}

const NUMERIC = [
  'ssh-port',
  'count',
  'max-model-len',
  'gpu-memory-utilization',
  'max-logprobs',
  'tensor-parallel-size',
  'data-parallel-size',
  'remote-port',
  'local-port',
  'hourly-price',
  'active-timeout',
  'health-timeout',
  'poll-interval',
  'api-interval-ms',
  'launch-spacing-ms',
  'tunnel-max-attempts',
  'tunnel-backoff-ms',
  'server-alive-interval',
];

// yargs turns a repeated flag into an array and a non-number into NaN; both would silently break timeouts.
function checkNumbers(args: Record<string, unknown>): void {
  for (const flag of NUMERIC) {
    const value = args[flag];
    if (value === undefined) continue;
    if (Array.isArray(value)) throw new DeployConfigError(`--${flag} was given ${value.length} times; give it once.`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new DeployConfigError(`--${flag} must be a non-negative number, got "${String(value)}".`);
    }
  }
}

type Args = Awaited<ReturnType<ReturnType<typeof parser>['parseAsync']>>;
type Secrets = Awaited<ReturnType<typeof loadSecrets>>;
type Deps = {
  secrets: Secrets;
  log: (line: string) => void;
  lambdaOptions: { minIntervalMs?: number; launchSpacingMs?: number };
  signal?: AbortSignal;
};

/** The `deploy:lambda` command; returns the exit code. */
export async function runCli(io: CliIo): Promise<number> {
  let redact = (text: string) => text;
  try {
    let helpText = '';
    const args = await parser(io.argv).parseAsync(io.argv, {}, (_e, _argv, output) => {
      helpText = output;
    });
    if (args.help || args.version) {
      io.stdout(`${helpText}\n`);
      return 0;
    }
    checkNumbers(args as unknown as Record<string, unknown>);
    const secrets = await loadSecrets({ env: io.env, envFile: args['secrets-file'] });
    redact = makeRedactor(secrets);
    const t0 = Date.now();
    const log = (line: string) => io.stderr(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${redact(line)}\n`);
    const lambdaOptions = {
      ...(args['api-interval-ms'] === undefined ? {} : { minIntervalMs: args['api-interval-ms'] }),
      ...(args['launch-spacing-ms'] === undefined ? {} : { launchSpacingMs: args['launch-spacing-ms'] }),
    };
    const deps: Deps = { secrets, log, lambdaOptions, ...(io.signal ? { signal: io.signal } : {}) };
    if (args['list-types']) return await listTypes(args, deps, io);
    if (args.status) return await showStatus(args, deps, io);
    if (args.logs) return await showLogs(args, deps, io);
    if (args.down) return await tearDown(args, deps, io);
    return await launch(args, deps, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`deploy:lambda: ${redact(message)}\n`);
    return error instanceof DeployConfigError ? 2 : 1;
  }
}

const namesOf = (args: Args) => (args.name ? { names: [args.name] } : {});
const lambdaUrlOf = (args: Args) => (args['lambda-api-url'] ? { lambdaApiUrl: args['lambda-api-url'] } : {});

async function listTypes(args: Args, deps: Deps, io: CliIo): Promise<number> {
  if (!deps.secrets.lambdaApiKey) {
    throw new DeployConfigError('LAMBDA_API_KEY is not set: put it in the environment or in a git-ignored .env file.');
  }
  const lambda = new LambdaClient({
    apiKey: deps.secrets.lambdaApiKey,
    ...(args['lambda-api-url'] ? { baseUrl: args['lambda-api-url'] } : {}),
    ...deps.lambdaOptions,
  });
  const types = await lambda.listInstanceTypes();
  if (args.json) {
    io.stdout(`${JSON.stringify(types, null, 2)}\n`);
    return 0;
  }
  for (const t of types.sort((a, b) => a.hourlyPriceUsd - b.hourlyPriceUsd)) {
    const regions = t.regionsWithCapacity.join(', ') || '(no capacity)';
    io.stdout(`${t.name.padEnd(28)} $${t.hourlyPriceUsd.toFixed(2)}/h  ${t.gpuDescription.padEnd(28)} ${regions}\n`);
  }
  return 0;
}

type StatusEntry = Awaited<ReturnType<typeof status>>[number];

function statusLine(e: StatusEntry): string {
  const restarts = e.tunnelStatus?.restarts ? ` (${e.tunnelStatus.restarts} restarts)` : '';
  const tunnel = e.tunnelStatus ? `${e.tunnelStatus.status}${restarts}` : 'unknown';
  const where = e.instanceId
    ? `, instance ${e.instanceId}${e.instanceStatus ? ` (${e.instanceStatus})` : ''}`
    : `, host ${e.host}`;
  return (
    `${e.name}: ${e.model} at ${e.endpoint} — ${e.healthy ? 'healthy' : 'NOT healthy'}, tunnel ${tunnel}${where}` +
    `, up ${e.uptimeHours.toFixed(2)} h × $${e.hourlyPriceUsd.toFixed(2)}/h = $${e.costUsd.toFixed(2)}\n`
  );
}

async function showStatus(args: Args, deps: Deps, io: CliIo): Promise<number> {
  const stateDir = args['state-dir'];
  const entries = await status({ stateDir }, deps);
  const strays = await findStrays(await readDeploymentState(stateDir), lambdaUrlOf(args), deps);
  const unaccounted = strays.pending.length + strays.untracked.length;
  const ok = entries.every((e) => e.healthy) && unaccounted === 0 ? 0 : 1;
  if (args.json) {
    const out = { deployments: entries, pending: strays.pending, untracked: strays.untracked, problem: strays.problem };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return ok;
  }
  printStrays(strays, stateDir, io);
  if (entries.length === 0 && unaccounted === 0) {
    io.stdout(`No deployments recorded in ${stateDir}.\n`);
    return ok;
  }
  for (const e of entries) {
    io.stdout(statusLine(e));
    if (e.tunnelStatus?.status === 'failed' && e.tunnelStatus.message) io.stdout(`  ${e.tunnelStatus.message}\n`);
  }
  io.stdout(`Total so far: $${entries.reduce((s, e) => s + e.costUsd, 0).toFixed(2)}\n`);
  return ok;
}

async function showLogs(args: Args, deps: Deps, io: CliIo): Promise<number> {
  for (const entry of await logs({ stateDir: args['state-dir'], ...namesOf(args) }, deps)) {
    io.stdout(`=== ${entry.name} ===\n${entry.log}\n`);
  }
  return 0;
}

async function tearDown(args: Args, deps: Deps, io: CliIo): Promise<number> {
  const stateDir = args['state-dir'];
  const allByPrefix = args['all-by-prefix'] === true;
  const result = await teardown({ stateDir, ...namesOf(args), ...lambdaUrlOf(args), allByPrefix }, deps);
  const spent = result.removed.length ? ` (about $${result.costUsd.toFixed(2)} spent on recorded deployments)` : '';
  io.stdout(
    result.removed.length === 0 && result.strays.length === 0
      ? `No deployments to remove in ${stateDir}.\n`
      : `Removed ${[...result.removed.map((r) => r.name), ...result.strays].join(', ')}${spent}.\n`,
  );
  for (const i of result.leftRunning) {
    io.stdout(
      `Left running: ${describeInstance(i)}, found by the deepconf- name prefix but not in ${stateDir} (another checkout's?). ` +
        `End it with: npm run deploy:lambda -- --down --name ${i.name ?? i.id}\n`,
    );
  }
  if (result.leftRunning.length > 1)
    io.stdout('End all of them with: npm run deploy:lambda -- --down --all-by-prefix\n');
  return result.messages.some((m) => m.startsWith('Could NOT')) ? 1 : 0;
}

async function checkPrerequisites(args: Args, deps: Deps, env: NodeJS.ProcessEnv): Promise<void> {
  const checked = await preflight({
    provider: args.host ? 'ssh' : 'lambda',
    model: args.model,
    instanceType: args['instance-type'],
    sshKeyName: args['ssh-key-name'],
    identityFile: args.identity ?? null,
    secrets: deps.secrets,
    env,
  });
  for (const w of checked.warnings) deps.log(`warning: ${w}`);
  if (checked.missing.length > 0) {
    const count = checked.missing.length === 1 ? 'one prerequisite' : `${checked.missing.length} prerequisites`;
    throw new DeployConfigError(
      `nothing was launched; missing ${count}:\n${checked.missing.map((m) => `  - ${m}`).join('\n')}` +
        '\n(or use --status, --logs, --down, --list-types)',
    );
  }
  if (!args.model) {
    throw new DeployConfigError('--model is required to deploy (or use --status, --logs, --down, --list-types).');
  }
}

/** Optional flags map to options only when given, so the library's defaults apply otherwise. */
function optionalDeployOptions(args: Args): Partial<DeployOptions> {
  return {
    ...(args.count === undefined ? {} : { count: args.count }),
    ...(args.host ? { host: args.host } : {}),
    ...(args['served-model-name'] ? { servedModelName: args['served-model-name'] } : {}),
    ...(args['instance-type'] ? { instanceType: args['instance-type'] } : {}),
    ...(args.region ? { region: args.region } : {}),
    ...(args['ssh-key-name'] ? { sshKeyName: args['ssh-key-name'] } : {}),
    ...(args.name ? { name: args.name } : {}),
    ...(args['local-port'] ? { localPort: args['local-port'] } : {}),
    ...(args['docker-dir'] ? { dockerDir: args['docker-dir'] } : {}),
    ...(args['hourly-price'] !== undefined ? { hourlyPriceUsd: args['hourly-price'] } : {}),
    ...lambdaUrlOf(args),
  };
}

function deployOptionsFrom(args: Args, model: string): DeployOptions {
  return {
    provider: args.host ? 'ssh' : 'lambda',
    stateDir: args['state-dir'],
    model,
    sshUser: args['ssh-user'],
    sshPort: args['ssh-port'],
    identityFile: args.identity ?? null,
    image: args.image,
    maxModelLen: args['max-model-len'],
    gpuMemoryUtilization: args['gpu-memory-utilization'],
    maxLogprobs: args['max-logprobs'],
    tensorParallelSize: args['tensor-parallel-size'],
    dataParallelSize: args['data-parallel-size'],
    reasoningParser: args['reasoning-parser'],
    remotePort: args['remote-port'],
    remoteDir: args['remote-dir'],
    activeTimeoutMs: seconds(args['active-timeout'])!,
    healthTimeoutMs: seconds(args['health-timeout'])!,
    pollMs: seconds(args['poll-interval'])!,
    healthPollMs: Math.min(seconds(args['poll-interval'])!, 5000),
    keep: args.keep,
    tunnelMaxAttempts: args['tunnel-max-attempts'],
    tunnelBackoffMs: args['tunnel-backoff-ms'],
    serverAliveIntervalS: args['server-alive-interval'],
    ...optionalDeployOptions(args),
  };
}

async function launch(args: Args, deps: Deps, io: CliIo): Promise<number> {
  await checkPrerequisites(args, deps, io.env);
  const deployments = await deploy(deployOptionsFrom(args, args.model as string), deps);
  if (args.json) {
    io.stdout(`${JSON.stringify(deployments, null, 2)}\n`);
    return 0;
  }
  for (const x of deployments) {
    io.stdout(`${x.name}: ${x.servedModelName} ready at ${x.endpoint} ($${x.hourlyPriceUsd.toFixed(2)}/h)\n`);
  }
  const stateDir = args['state-dir'];
  io.stdout(
    `State in ${stateDir}/; npm run experiment finds these endpoints. Stop billing with: npm run deploy:lambda -- --down\n`,
  );
  return 0;
}

function printStrays(strays: Strays, stateDir: string, io: CliIo): void {
  for (const p of strays.pending) {
    io.stdout(
      `${p.name}: instance ${p.instanceId} (${p.instanceType}, $${p.hourlyPriceUsd.toFixed(2)}/h, Lambda says ${p.instanceStatus ?? 'unknown'}) ` +
        `was launched at ${p.launchedAt} but never provisioned; it bills until ended: npm run deploy:lambda -- --down\n`,
    );
  }
  for (const i of strays.untracked) {
    io.stdout(
      `${i.name}: instance ${i.id} (${i.instanceType ?? 'unknown type'}, ${i.hourlyPriceUsd === null ? 'price unknown' : `$${i.hourlyPriceUsd.toFixed(2)}/h`}, ${i.status}) was launched by this tool but is not in ${stateDir} (another checkout's?); ` +
        `it bills until ended: --down --name ${i.name} ends it, --down --all-by-prefix ends every such instance\n`,
    );
  }
  if (strays.problem) io.stdout(`Note: ${strays.problem}.\n`);
}
