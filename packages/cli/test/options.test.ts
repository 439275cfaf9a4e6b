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
    expect(o).toMatchObject({
      model: 'Qwen/Qwen3-1.7B',
      benchmark: 'xstest',
      traces: 8,
      warmup: 4,
      window: 64,
      keepPercent: 10,
      topLogprobs: null,
      earlyStop: true,
      calibration: 'per-instance',
      thinking: 'off',
      baseUrls: [],
      resume: false,
    });
  });

  test('a config file sets any option and flags override it', async () => {
    const file = configFile({
      description: 'pair',
      benchmark: 'advbench',
      traces: 16,
      warmup: 8,
      'keep-percent': 90,
      'no-early-stop': true,
      thinking: 'on',
      output: 'results/x',
    });
    const o = await parseExperimentOptions(['--config', file, '--traces', '12']);
    expect(o).toMatchObject({
      benchmark: 'advbench',
      traces: 12,
      warmup: 8,
      keepPercent: 90,
      thinking: 'on',
      output: 'results/x',
      description: 'pair',
      config: file,
    });
  });

  test('repeatable --base-url, --no-early-stop, --retry-errors implies --resume', async () => {
    const o = await parseExperimentOptions([
      '--base-url',
      'http://a:8000/v1',
      '--base-url',
      'http://b:8000/v1',
      '--no-early-stop',
      '--retry-errors',
    ]);
    expect(o).toMatchObject({
      baseUrls: ['http://a:8000/v1', 'http://b:8000/v1'],
      earlyStop: false,
      retryErrors: true,
      resume: true,
    });
  });

  test.each([
    [['--bogus'], /Unknown argument: bogus/],
    [['--traces', '0'], /--traces: must be an integer >= 1/],
    [['--traces', '3', '--warmup', '4'], /--warmup: must be at most --traces \(3\)/],
    [['--traces', '3'], /--warmup: must be at most --traces \(3\).*it is 4 by default/],
    [['--keep-percent', '0'], /--keep-percent: must be a number in \(0, 100\] \(got "0"\)/],
    [['--base-url', 'localhost:8000'], /--base-url: must be an http\(s\) URL.*\(got "localhost:8000"\)/],
    [['--calibration', 'sometimes'], /--calibration: must be "per-instance" or "global" \(got "sometimes"\)/],
    [['--consensus', '0.3'], /--consensus: must be a number in \(0.5, 1\]/],
    [['--warmup', '0'], /--warmup: must be >= 1: warmup 0 leaves nothing to calibrate/],
    // Issue 14, principle 4: one schema refuses wrong types from flags and config files alike.
    [['--seed', '1e30'], /^--seed: must be an integer >= 0 \(got "1e30"\)$/],
    [['--seed', ''], /^--seed: must be an integer >= 0 \(got ""\)$/],
    [['--seed', 'abc'], /^--seed: must be an integer >= 0 \(got "abc"\)$/],
    [['--output', 'A', '--output', 'B'], /^--output: given more than once \("A", "B"\); give it once/],
    [['--model', 'a', '--model', 'b'], /^--model: given more than once/],
    [['--benchmark', 'xstest', '--benchmark', 'advbench'], /^--benchmark: given more than once/],
    [['--system', 'x', '--system', 'y'], /^--system: given more than once/],
    [['--label-map', 'refuse'], /^--label-map: must be label=1\|0 pairs, e.g. refuse=1,comply=0/],
  ])('%j is refused with a message naming the flag', async (argv, message) => {
    await expect(parseExperimentOptions(argv)).rejects.toThrow(OptionError);
    await expect(parseExperimentOptions(argv)).rejects.toThrow(message);
  });

  test('config file problems name the file', async () => {
    await expect(parseExperimentOptions(['--config', '/nonexistent/x.json'])).rejects.toThrow(
      /--config \/nonexistent\/x.json: cannot read it \(ENOENT\)/,
    );
    const bad = configFile('{ not json');
    await expect(parseExperimentOptions(['--config', bad])).rejects.toThrow(
      new RegExp(`--config ${bad}: not valid JSON`),
    );
    await expect(parseExperimentOptions(['--config', configFile({ tracez: 3 })])).rejects.toThrow(
      /unknown option "tracez"/,
    );
    await expect(parseExperimentOptions(['--config', configFile({ keepPercent: 3 })])).rejects.toThrow(
      /unknown option "keepPercent"; did you mean "keep-percent"\?/,
    );
  });

  test.each([
    [{ seed: null }, '"seed" must be an integer >= 0 (got null)'],
    [{ seed: '42' }, '"seed" must be an integer >= 0 (got "42")'],
    [{ model: { a: 1 } }, '"model" must be a non-empty string (got {"a":1})'],
    [{ 'early-stop': 'yes' }, '"early-stop" must be true or false (early-stop) (got "yes")'],
    [{ 'no-early-stop': 'yes' }, '"no-early-stop" must be true or false (got "yes")'],
    [{ 'base-url': 'http://a:1/v1' }, '"base-url" must be a list of http(s) URLs (got "http://a:1/v1")'],
  ])('config value %j of the wrong type is refused naming the file, the key and the type', async (value, message) => {
    const file = configFile(value);
    await expect(parseExperimentOptions(['--config', file])).rejects.toThrow(`--config ${file}: ${message}`);
  });

  test('new data and timeout flags reach the config typed', async () => {
    const o = await parseExperimentOptions([
      '--prompt-column',
      'text',
      '--label-column',
      'y',
      '--label-map',
      'refuse=1,comply=0',
      '--unlabelled',
      '--encoding',
      'latin1',
      '--idle-timeout',
      '30',
      '--first-token-timeout',
      '90',
      '--trace-timeout',
      '600',
    ]);
    expect(o).toMatchObject({
      promptColumn: 'text',
      labelColumn: 'y',
      labelMap: 'refuse=1,comply=0',
      unlabelled: true,
      encoding: 'latin1',
      idleTimeout: 30,
      firstTokenTimeout: 90,
      traceTimeout: 600,
    });
  });
});

describe('the shipped experiments/*.json', () => {
  const dir = fileURLToPath(new URL('../../../experiments', import.meta.url));
  // study_*.json are `npm run study` files (models x benchmarks x settings), not experiment options.
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('study_'));
  test.each(files)('%s parses', async (name) => {
    const raw = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    const o = await parseExperimentOptions(['--config', join(dir, name)]);
    expect(o?.benchmark).toBe(raw['benchmark']);
    expect(o?.traces).toBe(raw['traces']);
    expect(o?.earlyStop).toBe(raw['no-early-stop'] !== true);
  });
});

describe('judge flags in the one schema', () => {
  test('the schema knows the judge styles the refusal package has', async () => {
    const { JUDGE_STYLES } = await import('@deepconf-safety/refusal');
    for (const style of JUDGE_STYLES)
      await expect(parseExperimentOptions(['--judge', style])).resolves.toMatchObject({ judge: style });
    await expect(parseExperimentOptions(['--judge', 'gpt'])).rejects.toThrow(
      /--judge: must be "wildguard" or "xstest" or "harmbench" or "none"/,
    );
  });

  test.each([
    [['--judge-model', 'm'], /--judge-model: must be given only with --judge/],
    [['--refusal-source', 'judge'], /--refusal-source: must be "detector" without a judge/],
    [['--judge', 'harmbench', '--refusal-source', 'judge'], /--judge harmbench rates harm, not refusal/],
  ])('%j is refused', async (argv, message) => {
    await expect(parseExperimentOptions(argv)).rejects.toThrow(message);
  });
});
