import { readFile } from 'node:fs/promises';
import { parse } from 'dotenv';

export type Secrets = {
  /** Lambda Cloud API key (`LAMBDA_API_KEY`). */
  lambdaApiKey?: string;
  /** Hugging Face token for gated models (`HF_TOKEN`). */
  hfToken?: string;
  /** Key vLLM requires from clients (`VLLM_API_KEY`); the experiment runner sends the same one. */
  vllmApiKey?: string;
};

const NAMES = { lambdaApiKey: 'LAMBDA_API_KEY', hfToken: 'HF_TOKEN', vllmApiKey: 'VLLM_API_KEY' } as const;

/**
 * Secrets come from the environment first, then a git-ignored `.env` file. The file is parsed, not
 * loaded into process.env, so nothing we spawn inherits keys it does not need.
 */
export async function loadSecrets(
  options: { env?: NodeJS.ProcessEnv; envFile?: string | null } = {},
): Promise<Secrets> {
  const env = options.env ?? process.env;
  let fileVars: Record<string, string> = {};
  const envFile = options.envFile === undefined ? '.env' : options.envFile;
  if (envFile !== null) {
    try {
      fileVars = parse(await readFile(envFile, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const secrets: Secrets = {};
  for (const [key, name] of Object.entries(NAMES) as [keyof Secrets, string][]) {
    const value = env[name] || fileVars[name];
    if (value) secrets[key] = value;
  }
  return secrets;
}

/** Replaces every secret value in `text` with `***`; applied to all logs and error text we emit. */
export function makeRedactor(secrets: Secrets | readonly string[]): (text: string) => string {
  const values = (Array.isArray(secrets) ? secrets : Object.values(secrets))
    .filter((v): v is string => typeof v === 'string' && v.length >= 4)
    .sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const value of values) out = out.split(value).join('***');
    return out;
  };
}
