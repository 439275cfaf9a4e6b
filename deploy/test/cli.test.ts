import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli.js';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli({
    argv: ['--secrets-file', '/nonexistent/.env', ...argv],
    env,
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  return { code, stdout, stderr };
}

describe('deploy:lambda command line', () => {
  test('bad input is refused with exit 2 and a message naming the flag or variable', async () => {
    expect(await run(['--health-timeout', '5', '--health-timeout', '9', '--model', 'm'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--health-timeout was given 2 times'),
    });
    expect(await run(['--poll-interval', 'soon', '--model', 'm'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--poll-interval must be a non-negative number'),
    });
    expect(await run(['--bogus'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('Unknown argument: bogus'),
    });
    expect(await run([])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--model: the Hugging Face model id'),
    });
    expect(
      await run(['--model', 'm', '--instance-type', 't', '--ssh-key-name', 'k'], { VLLM_API_KEY: 'v-key-123' }),
    ).toMatchObject({ code: 2, stderr: expect.stringContaining('LAMBDA_API_KEY: create one') });
    expect(await run(['--model', 'm', '--instance-type', 't', '--ssh-key-name', 'k'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('VLLM_API_KEY: a long random key'),
    });
    expect(await run(['--list-types'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('LAMBDA_API_KEY is not set'),
    });
    expect(await run(['--host', 'u@h', '--count', '2', '--model', 'm'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/host and count are mutually exclusive/),
    });
  });

  test('--status and --down with nothing recorded say so', async () => {
    expect(await run(['--status', '--state-dir', '/nonexistent/.deploy'])).toEqual({
      code: 0,
      stdout:
        'Note: LAMBDA_API_KEY is not set, so Lambda was not asked for instances this tool launched.\nNo deployments recorded in /nonexistent/.deploy.\n',
      stderr: '',
    });
    expect(await run(['--down', '--state-dir', '/nonexistent/.deploy'])).toEqual({
      code: 0,
      stdout: 'No deployments to remove in /nonexistent/.deploy.\n',
      stderr: '',
    });
  });

  test('a secret that shows up in an error is redacted; an unreachable --host fails at once and leaves no state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-cli-'));
    try {
      const key = 'vllm-secret-that-is-long';
      await writeFile(join(dir, 'id_test'), 'not a real key\n');
      const r = await run(
        [
          '--model',
          'm',
          '--host',
          `${key}@127.0.0.1`,
          '--ssh-port',
          '1',
          '--name',
          'x',
          '--identity',
          join(dir, 'id_test'),
          '--state-dir',
          join(dir, '.deploy'),
        ],
        { VLLM_API_KEY: key, HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1' },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('***@127.0.0.1');
      expect(r.stderr).toContain('could not connect or authenticate');
      expect(r.stderr).not.toContain(key);
      expect(await readdir(join(dir, '.deploy'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
