import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { LOCK_FILE, RunStore } from '@deepconf-safety/run-store';

// Issue 14, principles 3, 4, 7 and 8, through the real CLI process: real HTTP on loopback, real files, real pids.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/src/bin/experiment.ts');
const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'experiment-faults-'));
  made.push(dir);
  return dir;
};
const CHILD_TIMEOUT_MS = 120_000;

function cli(argv: string[]) {
  return execa(process.execPath, ['--import', 'tsx', '--conditions=@deepconf-safety/source', bin, ...argv], {
    cwd: repo,
    reject: false,
    env: { VLLM_API_KEY: '' },
  });
}

/** A server that is up (health, models) but answers every generation request with `status`. */
async function failingServer(
  status: number,
): Promise<{ baseURL: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET' && req.url === '/health') return void res.writeHead(200).end();
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({ object: 'list', data: [{ id: 'Qwen/Qwen3-1.7B', object: 'model', max_model_len: 4096 }] }),
      );
    }
    requests++;
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) });
    res.end(JSON.stringify({ error: { message: `status ${status} from the test server`, type: 'x', code: status } }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

let emulator: EmulatorHandle;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, seed: 3, tokensPerSecond: 300, maxLogprobs: 21 });
});
afterAll(async () => {
  await emulator.close();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A small run; `set` replaces a default flag's value (a flag given twice is refused). */
function small(baseURL: string, output: string, extra: string[] = [], set: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    'num-instances': '4',
    traces: '2',
    warmup: '1',
    window: '16',
    'max-tokens': '64',
    concurrency: '4',
    ...set,
  };
  return [
    '--base-url',
    baseURL,
    ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]),
    '--no-report',
    '--output',
    output,
    ...extra,
  ];
}

const oneLine = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '');

describe('user mistakes: one line, exit 2, never a stack trace (principle 4)', () => {
  test(
    'bad values, repeated flags, config values of the wrong type and unusable output paths',
    async () => {
      const dir = tmp();
      const config = join(dir, 'c.json');
      writeFileSync(config, JSON.stringify({ model: { a: 1 } }));
      const cases: Array<[string[], RegExp]> = [
        [['--seed', '1e30'], /^experiment: --seed: must be an integer >= 0 \(got "1e30"\)$/],
        [['--seed', ''], /^experiment: --seed: must be an integer >= 0 \(got ""\)$/],
        [['--output', join(dir, 'A'), '--output', join(dir, 'B')], /^experiment: --output: given more than once/],
        [
          ['--config', config],
          /^experiment: --config .*c\.json: "model" must be a non-empty string \(got \{"a":1\}\)$/,
        ],
        [['--output', '/etc/passwd'], /^experiment: --output \/etc\/passwd: is a file, not a directory/],
        [
          ['--output', '/proc/deepconf-run'],
          /^experiment: --output \/proc\/deepconf-run: lies on the virtual proc file system/,
        ],
      ];
      const results = await Promise.all(cases.map(([argv]) => cli(argv)));
      results.forEach((r, i) => {
        const [, message] = cases[i] as [string[], RegExp];
        expect(r.exitCode).toBe(2);
        expect(oneLine(r.stderr)).toHaveLength(1);
        expect(r.stderr.trim()).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      });
      // Refused before anything started: nothing was written for the repeated --output.
      expect(existsSync(join(dir, 'A'))).toBe(false);
    },
    CHILD_TIMEOUT_MS,
  );
});

describe('a run that achieved nothing does not exit 0 (principle 3)', () => {
  test.each([500, 429])(
    'a server answering %i to every request: exit 1, one line saying why and what to do; repeats collapsed',
    async (status) => {
      const server = await failingServer(status);
      try {
        const output = join(tmp(), 'run');
        const r = await cli(small(server.baseURL, output, ['--retries', '1']));
        expect(r.exitCode).toBe(1);
        const errors = oneLine(r.stderr).filter((l) => l.startsWith('experiment:'));
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(
          new RegExp(
            `every trace failed \\(8 of 8: .*status ${status} from the test server.*\\(x 8\\)\\), so nothing was measured`,
          ),
        );
        expect(errors[0]).toContain(`--output ${output} --resume --retry-errors`);
        // The client's identical complaints: one line and one count, not one per request.
        const complaints = r.stdout.split('\n').filter((l) => l.startsWith('vllm:') && l.includes(`status ${status}`));
        expect(complaints.length).toBeLessThanOrEqual(2);
        if (complaints.length === 2) expect(complaints[1]).toMatch(/\(repeated \d+ times in all\)$/);
        const requests = server.requests();
        expect(requests).toBeGreaterThanOrEqual(16); // --retries 1: two requests per trace (and the probe's)
        expect(RunStore.open(output).readManifest().status).toBe('failed');

        // --resume alone keeps the errored traces, says so and points to --retry-errors.
        const resumed = await cli(small(server.baseURL, output, ['--retries', '1', '--resume']));
        expect(resumed.stderr).toMatch(
          /note: 8 trace\(s\) recorded as errors \(in 4 prompts\) are kept as they are; to redo them add --retry-errors/,
        );
        // Only the start-up probe reached the server again: no errored trace was redone.
        expect(server.requests() - requests).toBeLessThanOrEqual(requests - 16);
      } finally {
        await server.close();
      }
    },
    CHILD_TIMEOUT_MS,
  );

  test(
    "an impossible --max-tokens (beyond the model length) fails every trace: exit 1 naming the server's reason",
    async () => {
      const r = await cli(small(emulator.baseURL, join(tmp(), 'run'), [], { 'max-tokens': '1000000' }));
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/experiment: every trace failed \(8 of 8: .*maximum context length.*--retry-errors$/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
    CHILD_TIMEOUT_MS,
  );
});

describe('one writer per run directory (principle 7)', () => {
  test(
    "a second live writer, fresh or --resume, is refused naming the pid; a dead writer's lock is taken over",
    async () => {
      // The first writer is slow (a slow server), so it is surely still writing when the others start.
      const slow = await startEmulator({ port: 0, seed: 3, tokensPerSecond: 5, maxLogprobs: 21 });
      const output = join(tmp(), 'run');
      const set = { 'num-instances': '12', traces: '4', warmup: '2', 'max-tokens': '96' };
      const args = small(emulator.baseURL, output, [], set);
      const first = cli(small(slow.baseURL, output, [], set));
      const lock = join(output, LOCK_FILE);
      while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 20));
      const pid = first.pid as number;
      const [fresh, resume] = await Promise.all([cli(args), cli([...args, '--resume'])]);
      for (const r of [fresh, resume]) {
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toContain(`is being written by another process (pid ${pid})`);
      }
      first.kill('SIGKILL');
      await first;
      await slow.close();
      expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid });
      const taken = await cli([...args, '--resume']);
      expect(taken.exitCode).toBe(0);
      expect(taken.stderr).toContain(`was locked by pid ${pid}, which no longer runs; this process took the lock over`);
      expect(existsSync(lock)).toBe(false);
      expect(RunStore.open(output).readResults().overall.instances).toBe(12);
    },
    CHILD_TIMEOUT_MS,
  );
});

describe('secrets in --base-url never print (principle 8)', () => {
  test(
    'userinfo is redacted in the output, the manifest and the report',
    async () => {
      const output = join(tmp(), 'run');
      const url = emulator.baseURL.replace('http://', 'http://user:sekr3tKEY@');
      const r = await cli([...small(url, output).filter((a) => a !== '--no-report')]);
      expect(r.exitCode).toBe(0);
      expect(`${r.stdout}\n${r.stderr}`).not.toContain('sekr3tKEY');
      expect(r.stdout).toContain('***@127.0.0.1');
      for (const file of readdirSync(output).filter((f) => /\.(json|jsonl|html|md)$/.test(f))) {
        expect(readFileSync(join(output, file), 'utf8')).not.toContain('sekr3tKEY');
      }
      expect(RunStore.open(output).readManifest().config.baseUrls).toEqual([url.replace('user:sekr3tKEY@', '***@')]);
    },
    CHILD_TIMEOUT_MS,
  );
});
