import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGenerationTokens, startServerTokenMeter } from '@deepconf-safety/runner';
import { recordRun, withEmulator } from './support/experiment-run.js';

describe('parseGenerationTokens', () => {
  const body = [
    '# HELP vllm:generation_tokens_total Number of generation tokens processed.',
    '# TYPE vllm:generation_tokens_total counter',
    'vllm:generation_tokens_total{engine="0",model_name="Qwen/Qwen3-1.7B"} 1200.0',
    'vllm:generation_tokens_total{engine="1",model_name="Qwen/Qwen3-1.7B"} 34.0',
    'vllm:generation_tokens_total{engine="0",model_name="judge"} 99.0',
    'vllm:generation_tokens_created{engine="0",model_name="Qwen/Qwen3-1.7B"} 1.7e9',
  ].join('\n');

  test("sums the model's samples over engines, ignoring other models and series", () => {
    expect(parseGenerationTokens(body, 'Qwen/Qwen3-1.7B')).toBe(1234);
    expect(parseGenerationTokens(body, 'judge')).toBe(99);
    expect(parseGenerationTokens(body, 'other')).toBe(0);
  });

  test('without a model_name label every sample counts; without the counter, null', () => {
    expect(
      parseGenerationTokens('vllm:generation_tokens_total 5\nvllm:generation_tokens_total{engine="1"} 2', 'm'),
    ).toBe(7);
    expect(parseGenerationTokens('# nothing here\nvllm:num_requests_running 1', 'm')).toBeNull();
  });

  test('the meter says why the count is unknown', async () => {
    const counts = [100, 180];
    const io = { getText: async () => `vllm:generation_tokens_total ${counts.shift()}` };
    const meter = await startServerTokenMeter({ baseUrls: ['http://h:1/v1'], model: 'm', unsound: null }, io);
    expect(await meter.finish(70)).toMatchObject({
      generatedDuringRun: 80,
      clientTokens: 70,
      afterAborts: 10,
      unknownReason: null,
    });
    const judged = await startServerTokenMeter(
      { baseUrls: ['http://h:1/v1'], model: 'm', unsound: 'the judge generated on the same server' },
      io,
    );
    expect(await judged.finish(70)).toMatchObject({
      afterAborts: null,
      unknownReason: 'the judge generated on the same server',
    });
    const none = await startServerTokenMeter(
      { baseUrls: ['http://h:1/v1'], model: 'm', unsound: null },
      { getText: async () => null },
    );
    expect((await none.finish(70)).unknownReason).toMatch(/no vllm:generation_tokens_total/);
  });
});

function run(extra: string[], abortLagTokens: number) {
  return withEmulator('server-tokens-', { seed: 4, abortLagTokens }, async (dir, baseURL) => {
    await recordRun(
      [
        ...['--base-url', baseURL, '--num-instances', '12', '--traces', '6', '--warmup', '2', '--window', '8'],
        ...['--keep-percent', '90', '--max-tokens', '128', '--seed', '3', '--output', join(dir, 'run'), ...extra],
      ],
      { deployStateDir: dir },
    );
    const manifest = JSON.parse(readFileSync(join(dir, 'run', 'manifest.json'), 'utf8'));
    const results = JSON.parse(readFileSync(join(dir, 'run', 'results.json'), 'utf8'));
    return { dir, manifest, results };
  });
}

describe('npm run experiment records the tokens the server generated after aborts', () => {
  test('none without early stopping: the server counter and the client count agree exactly', async () => {
    const { manifest, results } = await run(['--no-early-stop', '--no-report'], 8);
    expect(manifest.serverTokens).toMatchObject({
      generatedDuringRun: results.overall.total_tokens,
      clientTokens: results.overall.total_tokens,
      afterAborts: 0,
      unknownReason: null,
    });
  }, 60_000);

  test('with early stopping and a server that lags 8 tokens per abort, the report shows them beside savings', async () => {
    const { dir, manifest, results } = await run([], 8);
    const s = manifest.serverTokens;
    expect(results.overall.early_stopped).toBeGreaterThan(0);
    expect(s.clientTokens).toBe(results.overall.total_tokens);
    expect(s.afterAborts).toBe(s.generatedDuringRun - s.clientTokens);
    // Each abort lets the server run on up to 8 tokens (fewer when the trace ends first), plus any in flight.
    expect(s.afterAborts).toBeGreaterThan(0);
    const md = readFileSync(join(dir, 'run', 'report.md'), 'utf8');
    const net = 100 * (1 - (results.overall.total_tokens + s.afterAborts) / results.overall.baseline_tokens);
    expect(md).toContain(
      `server generated ${s.afterAborts.toLocaleString('en-US')} tokens after aborts, not in the client count; savings net of them: ${net.toFixed(1)}%`,
    );
    expect(md).toContain("exact only if this run was the server's only client");
  }, 60_000);
});
