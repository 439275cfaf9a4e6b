import type { ServerChoice } from '@deepconf-safety/runner';

// Choosing the server is the CLI's (it reads .deploy/ and starts the emulator); what the run does with it is the
// runner's job (runExperimentJob), which owns the confidence plan and the banners.

interface DeployModule {
  readDeploymentState(dir?: string): Promise<{
    deployments: Array<{ endpoint: string; model: string; name: string; hourlyPriceUsd: number; startedAt: string }>;
  }>;
  deploymentCost(
    state: unknown,
    now?: Date | number,
  ): {
    totalUsd: number;
    deployments: Array<{ name: string; uptimeHours: number; hourlyPriceUsd: number; costUsd: number }>;
  };
}

/**
 * `@deepconf-safety/deploy` is loaded only when needed, by a computed name: the experiment must run from a
 * clone that has no deployment tooling built, and the CLI does not take a compile-time dependency on it.
 */
export async function loadDeploy(): Promise<DeployModule | null> {
  const name = '@deepconf-safety/deploy';
  try {
    const mod = (await import(name)) as Partial<DeployModule>;
    return typeof mod.readDeploymentState === 'function' && typeof mod.deploymentCost === 'function'
      ? (mod as DeployModule)
      : null;
  } catch {
    return null;
  }
}

export interface ChooseServerOptions {
  baseUrls: readonly string[];
  model: string;
  seed: number;
  deployStateDir?: string;
  /** Starts the emulator (injected so tests and the CLI choose its speed). */
  startEmulator(options: { model: string; seed: number }): Promise<{ baseURL: string; close(): Promise<void> }>;
  log(line: string): void;
}

/** --base-url if given; else the endpoints recorded by `npm run deploy:lambda`; else an emulator on loopback. */
export async function chooseServer(options: ChooseServerOptions): Promise<ServerChoice> {
  const none = async () => null;
  if (options.baseUrls.length > 0)
    return { baseUrls: [...options.baseUrls], origin: 'flag', close: async () => undefined, cost: none };
  const deploy = await loadDeploy();
  if (deploy) {
    const dir = options.deployStateDir ?? '.deploy';
    const state = await deploy.readDeploymentState(dir);
    const deployments = state.deployments;
    if (deployments.length > 0) {
      const mismatched = deployments.filter((d) => d.model !== options.model);
      if (mismatched.length > 0) {
        options.log(
          `note: deployment(s) ${mismatched.map((d) => `${d.name} serves ${d.model}`).join(', ')}; this run asks for --model ${options.model}`,
        );
      }
      return {
        baseUrls: deployments.map((d) => d.endpoint),
        origin: 'deployment',
        close: async () => undefined,
        cost: async (now) => {
          const c = deploy.deploymentCost(state, now);
          return {
            usd: c.totalUsd,
            hourlyPriceUsd: c.deployments.reduce((a, d) => a + d.hourlyPriceUsd, 0),
            uptimeHours: Math.max(0, ...c.deployments.map((d) => d.uptimeHours)),
            deployments: c.deployments,
          };
        },
      };
    }
  }
  const emulator = await options.startEmulator({ model: options.model, seed: options.seed });
  return { baseUrls: [emulator.baseURL], origin: 'emulator', close: () => emulator.close(), cost: none };
}
