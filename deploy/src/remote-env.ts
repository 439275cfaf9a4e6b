import { DeployConfigError } from './errors.js';

/** Settings the remote `serve.sh` / compose file read from `<remoteDir>/.env`. */
export type ServeConfig = {
  image: string;
  model: string;
  servedModelName: string;
  /** Port vLLM gets on the host's loopback (never a public interface). */
  hostPort: number;
  maxModelLen: number;
  gpuMemoryUtilization: number;
  maxLogprobs: number;
  tensorParallelSize: number;
  dataParallelSize: number;
  /** Empty string disables it (non-Qwen3 models). */
  reasoningParser: string;
  containerName: string;
};

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;

/**
 * Renders the remote .env. It travels over ssh stdin (never a command line, which `ps` shows) and
 * is written with umask 077. Values are single-quoted, which both bash `source` and compose read literally.
 */
export function renderRemoteEnv(config: ServeConfig, secrets: { vllmApiKey: string; hfToken?: string }): string {
  const plain: Record<string, string> = {
    VLLM_IMAGE: config.image,
    MODEL: config.model,
    SERVED_MODEL_NAME: config.servedModelName,
    VLLM_PORT: String(config.hostPort),
    MAX_MODEL_LEN: String(config.maxModelLen),
    GPU_MEMORY_UTILIZATION: String(config.gpuMemoryUtilization),
    MAX_LOGPROBS: String(config.maxLogprobs),
    TENSOR_PARALLEL_SIZE: String(config.tensorParallelSize),
    DATA_PARALLEL_SIZE: String(config.dataParallelSize),
    REASONING_PARSER: config.reasoningParser,
    CONTAINER_NAME: config.containerName,
  };
  for (const [key, value] of Object.entries(plain)) {
    if (value !== '' && !SAFE.test(value)) {
      throw new DeployConfigError(
        `${key} value "${value}" has characters the remote .env cannot carry; use letters, digits and ._:/@+-`,
      );
    }
  }
  const secret: Record<string, string> = { VLLM_API_KEY: secrets.vllmApiKey };
  if (secrets.hfToken) secret['HF_TOKEN'] = secrets.hfToken;
  for (const [key, value] of Object.entries(secret)) {
    if (/['\n\r]/.test(value))
      throw new DeployConfigError(`${key} contains a quote or line break; use a key without them.`);
  }
  return (
    Object.entries({ ...plain, ...secret })
      .map(([key, value]) => `${key}='${value}'`)
      .join('\n') + '\n'
  );
}
