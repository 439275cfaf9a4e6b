import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  DeployConfigError,
  loadSecrets,
  makeRedactor,
  renderRemoteEnv,
  shellQuote,
  tunnelArgs,
} from '@deepconf-safety/deploy';

describe('secrets', () => {
  test('environment wins over .env, which is parsed without touching process.env', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-secrets-'));
    try {
      const file = join(dir, '.env');
      await writeFile(file, 'LAMBDA_API_KEY=from-file-1234\nHF_TOKEN=hf_fromfile\nVLLM_API_KEY="quoted key value"\n');
      const secrets = await loadSecrets({ env: { LAMBDA_API_KEY: 'from-env-5678' }, envFile: file });
      expect(secrets).toEqual({
        lambdaApiKey: 'from-env-5678',
        hfToken: 'hf_fromfile',
        vllmApiKey: 'quoted key value',
      });
      expect(process.env['HF_TOKEN']).not.toBe('hf_fromfile');
      expect(await loadSecrets({ env: {}, envFile: join(dir, 'missing.env') })).toEqual({});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the redactor removes every secret value, longest first', () => {
    const redact = makeRedactor({ lambdaApiKey: 'abcd1234', vllmApiKey: 'abcd1234efgh' });
    expect(redact('key abcd1234efgh and abcd1234 and abcd')).toBe('key *** and *** and abcd');
  });
});

describe('remote commands', () => {
  test('shellQuote survives the remote shell unchanged for any string', async () => {
    const samples = fc.sample(
      fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.includes('\0')),
      40,
    );
    samples.push("it's", '$(rm -rf /)', '`x`', 'a b\tc\nd', '', '--flag=1');
    const script = samples.map((s) => `printf '%s\\0' ${shellQuote(s)}`).join('; ');
    const { stdout } = await execa('sh', ['-c', script], { stripFinalNewline: false });
    expect(stdout.split('\0').slice(0, -1)).toEqual(samples);
  });

  test('the tunnel binds the local loopback and reaches the server loopback, with keep-alives and its own known_hosts', () => {
    const args = tunnelArgs(
      {
        host: '203.0.113.9',
        user: 'ubuntu',
        port: 22,
        identityFile: '/k/id',
        knownHostsFile: '/s/known_hosts',
        serverAliveIntervalS: 15,
      },
      18000,
      8000,
    );
    expect(args).toEqual(
      expect.arrayContaining(['-N', '-L', '127.0.0.1:18000:127.0.0.1:8000', 'ubuntu@203.0.113.9', '-i', '/k/id']),
    );
    for (const option of [
      'ExitOnForwardFailure=yes',
      'StrictHostKeyChecking=accept-new',
      'UserKnownHostsFile=/s/known_hosts',
      'ServerAliveInterval=15',
      'BatchMode=yes',
    ]) {
      expect(args[args.indexOf(option) - 1]).toBe('-o');
    }
  });

  test('the remote .env carries settings and secrets, and refuses values it cannot carry', () => {
    const config = {
      image: 'vllm/vllm-openai:v0.11.0',
      model: 'Qwen/Qwen3-1.7B',
      servedModelName: 'qwen3',
      hostPort: 8000,
      maxModelLen: 16384,
      gpuMemoryUtilization: 0.9,
      maxLogprobs: 20,
      tensorParallelSize: 1,
      dataParallelSize: 2,
      reasoningParser: 'qwen3',
      containerName: 'deepconf-vllm',
    };
    const text = renderRemoteEnv(config, { vllmApiKey: 'k-123', hfToken: 'hf_x' });
    expect(text).toContain("MAX_LOGPROBS='20'\n");
    expect(text).toContain("DATA_PARALLEL_SIZE='2'\n");
    expect(text).toContain("VLLM_API_KEY='k-123'\n");
    expect(text).toContain("HF_TOKEN='hf_x'\n");
    expect(() => renderRemoteEnv({ ...config, model: 'x; rm -rf ~' }, { vllmApiKey: 'k' })).toThrow(DeployConfigError);
    expect(() => renderRemoteEnv(config, { vllmApiKey: "it's" })).toThrow(/VLLM_API_KEY contains a quote/);
  });
});
