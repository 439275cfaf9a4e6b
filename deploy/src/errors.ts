const BRAND = Symbol.for('@deepconf-safety/deploy/DeployError');

/** Root of every error this package throws. Messages never contain secrets. */
export class DeployError extends Error {
  readonly [BRAND] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flag, config or state file; the message names it and says what to do. */
export class DeployConfigError extends DeployError {}

/** A Lambda Cloud API call failed. `code` is Lambda's error code (e.g. `global/invalid-api-key`). */
export class LambdaApiError extends DeployError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No region has capacity for the requested instance type. */
export class InsufficientCapacityError extends LambdaApiError {}

/** The instance did not reach `active` (with an IP) in time, or went unhealthy/terminated. */
export class InstanceNotActiveError extends DeployError {}

/** An ssh/scp command failed; `stderr` is redacted. */
export class SshError extends DeployError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The remote host lacks Docker or a GPU. */
export class HostCheckError extends DeployError {}

/** vLLM's /health did not answer 200 in time; `containerLog` is the redacted tail of its log. */
export class HealthCheckTimeoutError extends DeployError {
  constructor(
    message: string,
    readonly containerLog: string,
  ) {
    super(message);
  }
}

/** The SSH tunnel could not be (re)established. */
export class TunnelError extends DeployError {}

export function isDeployError(value: unknown): value is DeployError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
