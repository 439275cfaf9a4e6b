import { describe, expect, test } from '@jest/globals';
import { OPERATIONAL_KEYS, RunConfigSchema, parseLabelMap, runConfig, runIdentity } from '@deepconf-safety/run-store';

const derived = { instancesHash: 'h', server: 'emulator' as const, confidenceMode: 'exact' as const };

describe('RunConfigSchema', () => {
  test('fills every default, so a few fields make a complete config', () => {
    const c = runConfig({ traces: 4, warmup: 2 });
    expect(c).toMatchObject({
      model: 'Qwen/Qwen3-1.7B',
      benchmark: 'xstest',
      traces: 4,
      warmup: 2,
      window: 64,
      keepPercent: 10,
      earlyStop: true,
      thinking: 'off',
      baseUrls: [],
      numInstances: null,
    });
  });

  test.each([
    [{ seed: 1e30 }, 'seed', 'an integer >= 0'],
    [{ seed: null }, 'seed', 'an integer >= 0'],
    [{ seed: '' }, 'seed', 'an integer >= 0'],
    [{ model: { a: 1 } }, 'model', 'a non-empty string'],
    [{ earlyStop: 'yes' }, 'earlyStop', 'true or false'],
    [{ keepPercent: 0 }, 'keepPercent', 'a number in (0, 100]'],
    [{ thinking: true }, 'thinking', '"on" or "off"'],
    [{ labelMap: 'refuse' }, 'labelMap', 'label=1|0 pairs'],
    [{ idleTimeout: 0 }, 'idleTimeout', 'a number of seconds > 0'],
    // A Node timer beyond 2^31 - 1 ms fires at once: such a --trace-timeout ended every trace immediately.
    [{ traceTimeout: 3e6 }, 'traceTimeout', 'at most 86400'],
    [{ firstTokenTimeout: 0.0001 }, 'firstTokenTimeout', 'a number of seconds > 0'],
    [{ firstTokenTimeout: '120' }, 'firstTokenTimeout', 'a number of seconds'],
  ])('%j is refused at its key, saying what is expected', (input, key, expected) => {
    const r = RunConfigSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual([key]);
    expect(r.error?.issues[0]?.message).toContain(expected);
  });

  test('rules between fields name the field to change', () => {
    const r = RunConfigSchema.safeParse({ traces: 3, warmup: 4 });
    expect(r.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['warmup'], expect.stringContaining('at most --traces (3)')],
    ]);
    expect(RunConfigSchema.safeParse({ warmup: 0 }).error?.issues[0]?.path).toEqual(['warmup']);
    expect(RunConfigSchema.safeParse({ warmup: 0, earlyStop: false }).success).toBe(true);
  });

  test('a label map reads as label → should refuse', () => {
    expect(parseLabelMap('refuse=1, comply = 0')).toEqual({ refuse: true, comply: false });
  });
});

describe('runIdentity', () => {
  test('operational options do not change it; options that decide results do', () => {
    const base = runIdentity(runConfig(), derived);
    for (const key of OPERATIONAL_KEYS) expect(base).not.toHaveProperty(key);
    expect(runIdentity(runConfig({ concurrency: 7, output: '/x', retries: 0, description: 'd' }), derived)).toEqual(
      base,
    );
    expect(runIdentity(runConfig({ traces: 9 }), derived)).not.toEqual(base);
    expect(runIdentity(runConfig(), { ...derived, instancesHash: 'other' })).not.toEqual(base);
  });

  test('the calibration slice counts only under global calibration', () => {
    expect(runIdentity(runConfig({ calibrationInstances: 5 }), derived)).toEqual(runIdentity(runConfig(), derived));
    expect(runIdentity(runConfig({ calibration: 'global', calibrationInstances: 5 }), derived)).not.toEqual(
      runIdentity(runConfig({ calibration: 'global' }), derived),
    );
  });
});
