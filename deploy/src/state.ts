import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DeployConfigError } from './errors.js';

export const DEFAULT_STATE_DIR = '.deploy';

export const tunnelOptionsSchema = z.object({
  /** Consecutive failed reconnects before the keeper gives up and records `failed`. */
  maxAttempts: z.number().int().positive(),
  /** First pause between reconnects; doubles each time, capped at 30 s. */
  backoffMs: z.number().int().nonnegative(),
  serverAliveIntervalS: z.number().int().positive(),
});

export const deploymentRecordSchema = z.object({
  version: z.literal(1),
  /** Deployment name; also the Lambda instance name, so a retry finds what it already launched. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  provider: z.enum(['lambda', 'ssh']),
  instanceId: z.string().nullable(),
  region: z.string().nullable(),
  instanceType: z.string().nullable(),
  host: z.string(),
  sshUser: z.string(),
  sshPort: z.number().int().positive(),
  identityFile: z.string().nullable(),
  model: z.string(),
  servedModelName: z.string(),
  /** OpenAI-style base URL through the local tunnel, e.g. http://127.0.0.1:18000/v1. */
  endpoint: z.string(),
  localPort: z.number().int().positive(),
  remotePort: z.number().int().positive(),
  remoteDir: z.string(),
  startedAt: z.string(),
  hourlyPriceUsd: z.number().nonnegative(),
  dataParallelSize: z.number().int().positive(),
  tensorParallelSize: z.number().int().positive(),
  lambdaApiUrl: z.string().nullable(),
  tunnel: tunnelOptionsSchema,
});
export type DeploymentRecord = z.infer<typeof deploymentRecordSchema>;

export const tunnelStatusSchema = z.object({
  status: z.enum(['starting', 'up', 'reconnecting', 'failed', 'stopped']),
  keeperPid: z.number().int(),
  sshPid: z.number().int().nullable(),
  restarts: z.number().int().nonnegative(),
  message: z.string().nullable(),
  updatedAt: z.string(),
});
export type TunnelStatus = z.infer<typeof tunnelStatusSchema>;

/**
 * Written the moment Lambda's launch call returns, before any wait: whatever happens next (Ctrl-C, SIGTERM, a
 * crash, kill -9), `--status` shows the instance and `--down` terminates it.
 */
export const launchRecordSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  instanceId: z.string(),
  /** The Lambda instance name (always starts with INSTANCE_NAME_PREFIX). */
  instanceName: z.string(),
  lambdaApiUrl: z.string(),
  launchedAt: z.string(),
  instanceType: z.string(),
  region: z.string().nullable(),
  hourlyPriceUsd: z.number().nonnegative(),
});
export type LaunchRecord = z.infer<typeof launchRecordSchema>;

/** Every Lambda instance this tool launches is named with this prefix, so `--status` / `--down` can find strays. */
export const INSTANCE_NAME_PREFIX = 'deepconf-';
export const instanceNameFor = (name: string) =>
  name.startsWith(INSTANCE_NAME_PREFIX) ? name : `${INSTANCE_NAME_PREFIX}${name}`;

export type Deployment = DeploymentRecord & { tunnelStatus: TunnelStatus | null };
export type DeploymentState = {
  dir: string;
  deployments: Deployment[];
  /** Instances launched but never provisioned (the deploy was interrupted or crashed): billing, not serving. */
  pending: LaunchRecord[];
};

export const deploymentDir = (stateDir: string, name: string) => join(stateDir, name);
export const knownHostsPath = (stateDir: string, name: string) => join(stateDir, name, 'known_hosts');
export const keeperLogPath = (stateDir: string, name: string) => join(stateDir, name, 'keeper.log');
const recordPath = (stateDir: string, name: string) => join(stateDir, name, 'deployment.json');
const tunnelPath = (stateDir: string, name: string) => join(stateDir, name, 'tunnel.json');
const launchPath = (stateDir: string, name: string) => join(stateDir, name, 'launch.json');

/**
 * Reads every deployment recorded under `dir` (one sub-directory each). A missing dir means no
 * deployments. `npm run experiment` uses `deployments[].endpoint` as its vLLM base URLs.
 */
export async function readDeploymentState(dir: string = DEFAULT_STATE_DIR): Promise<DeploymentState> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { dir, deployments: [], pending: [] };
    throw error;
  }
  const deployments: Deployment[] = [];
  const pending: LaunchRecord[] = [];
  for (const name of entries.sort()) {
    const record = await readJson(recordPath(dir, name), deploymentRecordSchema);
    if (record === null) {
      // No deployment record: a launch that was interrupted before provisioning finished (or never launched).
      const launch = await readJson(launchPath(dir, name), launchRecordSchema);
      if (launch !== null) pending.push(launch);
      continue;
    }
    const tunnelStatus = await readJson(tunnelPath(dir, name), tunnelStatusSchema);
    deployments.push({ ...record, tunnelStatus });
  }
  return { dir, deployments, pending };
}

export async function writeLaunchRecord(dir: string, record: LaunchRecord): Promise<void> {
  await ensureDeploymentDir(dir, record.name);
  await writeJsonAtomic(launchPath(dir, record.name), launchRecordSchema.parse(record));
}

export async function readDeploymentRecord(dir: string, name: string): Promise<DeploymentRecord | null> {
  return readJson(recordPath(dir, name), deploymentRecordSchema);
}

export async function writeDeploymentRecord(dir: string, record: DeploymentRecord): Promise<void> {
  await writeJsonAtomic(recordPath(dir, record.name), deploymentRecordSchema.parse(record));
}

export async function writeTunnelStatus(dir: string, name: string, status: TunnelStatus): Promise<void> {
  await writeJsonAtomic(tunnelPath(dir, name), status);
}

export async function readTunnelStatus(dir: string, name: string): Promise<TunnelStatus | null> {
  return readJson(tunnelPath(dir, name), tunnelStatusSchema);
}

export async function removeDeploymentDir(dir: string, name: string): Promise<void> {
  await rm(deploymentDir(dir, name), { recursive: true, force: true });
}

export async function ensureDeploymentDir(dir: string, name: string): Promise<void> {
  await mkdir(deploymentDir(dir, name), { recursive: true, mode: 0o700 });
}

async function readJson<T extends z.ZodType>(file: string, schema: T): Promise<z.infer<T> | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DeployConfigError(
      `${file} is not valid JSON; delete it (and terminate the instance in the Lambda console) or fix it.`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new DeployConfigError(`${file} does not match the deployment state format: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

// Readers (the runner, --status) may read while the keeper writes: rename makes each write atomic.
async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

export type DeploymentCost = {
  totalUsd: number;
  deployments: Array<{
    name: string;
    instanceId: string | null;
    uptimeHours: number;
    hourlyPriceUsd: number;
    costUsd: number;
  }>;
};

/** Uptime × hourly price for every deployment at `now`; the runner writes this into run manifests. */
export function deploymentCost(
  state: Pick<DeploymentState, 'deployments'>,
  now: Date | number = Date.now(),
): DeploymentCost {
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const deployments = state.deployments.map((d) => {
    const started = Date.parse(d.startedAt);
    const uptimeHours = Number.isFinite(started) ? Math.max(0, nowMs - started) / 3_600_000 : 0;
    return {
      name: d.name,
      instanceId: d.instanceId,
      uptimeHours,
      hourlyPriceUsd: d.hourlyPriceUsd,
      costUsd: uptimeHours * d.hourlyPriceUsd,
    };
  });
  return { totalUsd: deployments.reduce((sum, d) => sum + d.costUsd, 0), deployments };
}
