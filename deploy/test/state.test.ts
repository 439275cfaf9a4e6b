import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployConfigError, deploymentCost, readDeploymentState, type DeploymentRecord } from '@deepconf-safety/deploy';
import { writeDeploymentRecord, writeTunnelStatus } from '../src/state.js';

const record = (over: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  version: 1,
  name: 'deepconf-a',
  provider: 'lambda',
  instanceId: 'i-1',
  region: 'us-east-1',
  instanceType: 'gpu_1x_a10',
  host: '10.0.0.1',
  sshUser: 'ubuntu',
  sshPort: 22,
  identityFile: null,
  model: 'Qwen/Qwen3-1.7B',
  servedModelName: 'Qwen/Qwen3-1.7B',
  endpoint: 'http://127.0.0.1:18000/v1',
  localPort: 18000,
  remotePort: 8000,
  remoteDir: 'deepconf-safety',
  startedAt: '2026-11-27T10:00:00.000Z',
  hourlyPriceUsd: 0.75,
  dataParallelSize: 1,
  tensorParallelSize: 1,
  lambdaApiUrl: null,
  tunnel: { maxAttempts: 8, backoffMs: 1000, serverAliveIntervalS: 15 },
  ...over,
});

describe('deployment state', () => {
  test('a missing state dir means no deployments', async () => {
    expect(await readDeploymentState('/nonexistent/.deploy')).toEqual({
      dir: '/nonexistent/.deploy',
      deployments: [],
      pending: [],
    });
  });

  test('records round-trip with their tunnel status; half-written launches are skipped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-state-'));
    try {
      await mkdir(join(dir, 'deepconf-a'));
      await mkdir(join(dir, 'deepconf-b'));
      await mkdir(join(dir, 'launch-in-progress'));
      await writeDeploymentRecord(dir, record());
      await writeDeploymentRecord(
        dir,
        record({ name: 'deepconf-b', endpoint: 'http://127.0.0.1:18001/v1', localPort: 18001 }),
      );
      const tunnel = {
        status: 'up' as const,
        keeperPid: 12,
        sshPid: 13,
        restarts: 2,
        message: null,
        updatedAt: '2026-11-27T10:01:00.000Z',
      };
      await writeTunnelStatus(dir, 'deepconf-a', tunnel);
      const state = await readDeploymentState(dir);
      expect(state.deployments.map((d) => [d.name, d.endpoint, d.tunnelStatus])).toEqual([
        ['deepconf-a', 'http://127.0.0.1:18000/v1', tunnel],
        ['deepconf-b', 'http://127.0.0.1:18001/v1', null],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a damaged state file is an error that names the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-state-'));
    try {
      await mkdir(join(dir, 'x'));
      await writeFile(join(dir, 'x', 'deployment.json'), '{"version":1,"name":"x"}');
      const error = await readDeploymentState(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeployConfigError);
      expect((error as Error).message).toContain(join(dir, 'x', 'deployment.json'));
      await writeFile(join(dir, 'x', 'deployment.json'), 'not json');
      await expect(readDeploymentState(dir)).rejects.toThrow(/is not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('cost is uptime × hourly price, summed over deployments', () => {
    const started = Date.parse('2026-11-27T10:00:00.000Z');
    const state = {
      deployments: [
        { ...record(), tunnelStatus: null },
        { ...record({ name: 'b', hourlyPriceUsd: 2.5 }), tunnelStatus: null },
      ],
    };
    const cost = deploymentCost(state, new Date(started + 90 * 60_000));
    expect(cost.deployments.map((d) => [d.uptimeHours, d.costUsd])).toEqual([
      [1.5, 1.125],
      [1.5, 3.75],
    ]);
    expect(cost.totalUsd).toBeCloseTo(4.875, 10);
    // Before the start (clock skew) costs nothing rather than going negative.
    expect(deploymentCost(state, started - 1000).totalUsd).toBe(0);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: 0, max: 10 ** 9 }), (price, ms) => {
        const c = deploymentCost(
          { deployments: [{ ...record({ hourlyPriceUsd: price }), tunnelStatus: null }] },
          started + ms,
        );
        expect(c.totalUsd).toBeCloseTo((ms / 3_600_000) * price, 6);
      }),
    );
  });
});
