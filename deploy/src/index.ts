export * from './errors.js';
export {
  LambdaClient,
  DEFAULT_LAMBDA_API_URL,
  type LambdaClientOptions,
  type Instance,
  type InstanceType,
} from './lambda-client.js';
export { loadSecrets, makeRedactor, type Secrets } from './secrets.js';
export {
  readDeploymentState,
  deploymentCost,
  DEFAULT_STATE_DIR,
  type Deployment,
  type DeploymentRecord,
  type DeploymentState,
  type DeploymentCost,
  type TunnelStatus,
} from './state.js';
export {
  deploy,
  teardown,
  status,
  logs,
  defaultDeploymentName,
  DEFAULT_VLLM_IMAGE,
  type DeployOptions,
  type DeployDeps,
  type TeardownOptions,
  type TeardownResult,
  type StatusEntry,
} from './deploy.js';
export { shellQuote, tunnelArgs, type Exec, type SshTarget } from './ssh.js';
export { renderRemoteEnv, type ServeConfig } from './remote-env.js';
