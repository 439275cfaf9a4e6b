import { access, constants } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Secrets } from './secrets.js';

export type PreflightInput = {
  provider: 'lambda' | 'ssh';
  model: string | undefined;
  instanceType: string | undefined;
  sshKeyName: string | undefined;
  identityFile: string | null;
  secrets: Secrets;
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof globalThis.fetch;
};

export type Preflight = { missing: string[]; warnings: string[] };

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

async function readable(path: string): Promise<boolean> {
  return access(path, constants.R_OK).then(
    () => true,
    () => false,
  );
}

/** Whether the hub says the model is gated; null when the hub could not be asked (no network, unknown model). */
async function isGated(model: string, input: PreflightInput): Promise<boolean | null> {
  const endpoint = (input.env['HF_ENDPOINT'] || 'https://huggingface.co').replace(/\/+$/, '');
  if (/^(1|true|yes|on)$/i.test(input.env['HF_HUB_OFFLINE'] ?? '')) return null;
  try {
    const res = await (input.fetch ?? globalThis.fetch)(
      `${endpoint}/api/models/${model.split('/').map(encodeURIComponent).join('/')}`,
      {
        signal: AbortSignal.timeout(10_000),
      },
    );
    if (!res.ok) return null;
    const body = (await res.json()) as { gated?: unknown };
    return body.gated !== undefined && body.gated !== false;
  } catch {
    return null;
  }
}

/**
 * Everything a deploy needs before it may spend anything, checked at once so the user fixes all of it in one go:
 * LAMBDA_API_KEY, VLLM_API_KEY, the ssh key file, HF_TOKEN when the model is gated, and the launch flags.
 */
export async function preflight(input: PreflightInput): Promise<Preflight> {
  const missing: string[] = [];
  const warnings: string[] = [];
  if (!input.model) missing.push('--model: the Hugging Face model id to serve, e.g. Qwen/Qwen3-1.7B');
  if (input.provider === 'lambda') {
    if (!input.secrets.lambdaApiKey)
      missing.push(
        'LAMBDA_API_KEY: create one under Lambda Cloud → API keys; put it in the environment or the git-ignored .env',
      );
    if (!input.instanceType)
      missing.push('--instance-type: a Lambda instance type (npm run deploy:lambda -- --list-types)');
    if (!input.sshKeyName) missing.push('--ssh-key-name: the name of an SSH key registered in your Lambda account');
  }
  if (!input.secrets.vllmApiKey)
    missing.push(
      'VLLM_API_KEY: a long random key (e.g. openssl rand -hex 24); the server requires it and the experiment sends it',
    );
  if (input.identityFile !== null) {
    if (!(await readable(input.identityFile)))
      missing.push(`the ssh key file ${input.identityFile} (--identity) does not exist or cannot be read`);
  } else {
    const home = input.env['HOME'] || homedir();
    const found = await Promise.all(DEFAULT_KEYS.map((k) => readable(join(home, '.ssh', k))));
    if (!found.some(Boolean))
      missing.push(
        `an ssh key file: pass --identity <private key> (none of ~/.ssh/${DEFAULT_KEYS.join(', ~/.ssh/')} exists)`,
      );
  }
  if (input.model && !input.secrets.hfToken) {
    const gated = await isGated(input.model, input);
    if (gated === true)
      missing.push(
        `HF_TOKEN: ${input.model} is gated on the Hugging Face hub; accept its terms there and set HF_TOKEN to a read token`,
      );
    if (gated === null)
      warnings.push(
        `could not ask the Hugging Face hub whether ${input.model} is gated; if it is, set HF_TOKEN or vLLM will fail to download it`,
      );
  }
  return { missing, warnings };
}
