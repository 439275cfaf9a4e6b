import { expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../src/bin/emulator.ts', import.meta.url));

function run(
  args: string[],
  env: Record<string, string> = {},
): { child: ReturnType<typeof spawn>; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@deepconf-safety/source', BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

test('npm run emulator: serves on the given port with the API key from VLLM_API_KEY, stops on SIGTERM', async () => {
  const p = run(['--port', '0', '--model', 'test/model'], { VLLM_API_KEY: 'cli-secret' });
  let url: string | null = null;
  while (url === null) {
    const m = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(p.stderr());
    if (m !== null) url = m[1] as string;
    else if (p.child.exitCode !== null) throw new Error(`emulator exited: ${p.stderr()}`);
    else await new Promise((r) => setTimeout(r, 20));
  }
  expect(p.stderr()).not.toContain('cli-secret');
  expect((await fetch(`${url}/v1/models`)).status).toBe(401);
  const models = (await (
    await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer cli-secret' } })
  ).json()) as { data: { id: string }[] };
  expect(models.data[0]?.id).toBe('test/model');
  p.child.kill('SIGTERM');
  expect(await p.exit).toBe(0);
});

test('bad flags exit 2 with a message naming the flag', async () => {
  const p = run(['--port', 'eighty']);
  expect(await p.exit).toBe(2);
  expect(p.stderr()).toContain('--port');
});

test('--clamp-rate out of range exits 1 with a message naming the option', async () => {
  const p = run(['--port', '0', '--clamp-rate', '2']);
  expect(await p.exit).toBe(1);
  expect(p.stderr()).toMatch(/"clampRate".*between 0 and 1/);
});
