import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptionError, parseExperimentOptions } from '../src/experiment/options.js';

const configFile = (value: unknown) => {
  const file = join(mkdtempSync(join(tmpdir(), 'experiment-options-')), 'c.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};

describe('experiment options', () => {
  test('defaults suit short safety answers on XSTest', async () => {
    const o = await parseExperimentOptions([]);
    expect(o).toMatchObject({ model: 'Qwen/Qwen3-1.7B', benchmark: 'xstest', traces: 8, warmup: 4, window: 64, keepPercent: 10, topLogprobs: null, earlyStop: true, calibration: 'per-instance', thinking: false, baseUrls: [], resume: false });
  });

  test('a config file sets any option and flags override it', async () => {
    const file = configFile({ description: 'pair', benchmark: 'advbench', traces: 16, warmup: 8, 'keep-percent': 90, 'no-early-stop': true, thinking: 'on', output: 'results/x' });
    const o = await parseExperimentOptions(['--config', file, '--traces', '12']);
    expect(o).toMatchObject({ benchmark: 'advbench', traces: 12, warmup: 8, keepPercent: 90, thinking: true, output: 'results/x', description: 'pair', config: file });
  });

  test('repeatable --base-url, --no-early-stop, --retry-errors implies --resume', async () => {
    const o = await parseExperimentOptions(['--base-url', 'http://a:8000/v1', '--base-url', 'http://b:8000/v1', '--no-early-stop', '--retry-errors']);
    expect(o).toMatchObject({ baseUrls: ['http://a:8000/v1', 'http://b:8000/v1'], earlyStop: false, retryErrors: true, resume: true });
  });

  test.each([
    [['--bogus'], /Unknown argument: bogus/],
    [['--traces', '0'], /--traces: must be an integer >= 1/],
    [['--traces', '3', '--warmup', '4'], /--warmup 4 exceeds --traces 3/],
    [['--keep-percent', '0'], /--keep-percent: must be in \(0, 100\]/],
    [['--base-url', 'localhost:8000'], /--base-url localhost:8000: not an http\(s\) URL/],
    [['--calibration', 'sometimes'], /calibration/],
    [['--consensus', '0.3'], /--consensus: must be in \(0.5, 1\]/],
    [['--warmup', '0'], /--warmup 0 leaves nothing to calibrate/],
  ])('%j is refused with a message naming the flag', async (argv, message) => {
    await expect(parseExperimentOptions(argv)).rejects.toThrow(OptionError);
    await expect(parseExperimentOptions(argv)).rejects.toThrow(message);
  });

  test('config file problems name the file', async () => {
    await expect(parseExperimentOptions(['--config', '/nonexistent/x.json'])).rejects.toThrow(/--config \/nonexistent\/x.json: cannot read it \(ENOENT\)/);
    const bad = configFile('{ not json');
    await expect(parseExperimentOptions(['--config', bad])).rejects.toThrow(new RegExp(`--config ${bad}: not valid JSON`));
    await expect(parseExperimentOptions(['--config', configFile({ tracez: 3 })])).rejects.toThrow(/Unknown argument: tracez/);
  });
});

describe('the shipped experiments/*.json', () => {
  const dir = fileURLToPath(new URL('../../../experiments', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  test.each(files)('%s parses', async (name) => {
    const raw = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    const o = await parseExperimentOptions(['--config', join(dir, name)]);
    expect(o?.benchmark).toBe(raw['benchmark']);
    expect(o?.traces).toBe(raw['traces']);
    expect(o?.earlyStop).toBe(raw['no-early-stop'] !== true);
  });
});
