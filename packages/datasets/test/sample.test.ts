import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  DatasetOptionError,
  loadBenchmark,
  mulberry32,
  sampleInstances,
  type BenchmarkRecord,
} from '@deepconf-safety/datasets';

function records(labels: ReadonlyArray<boolean | null>): BenchmarkRecord[] {
  return labels.map((shouldRefuse, i) => ({
    id: `r${i}`,
    prompt: `p${i}`,
    shouldRefuse,
    category: '',
    source: 't',
    meta: {},
  }));
}

describe('sampleInstances', () => {
  test('same seed, same sample; another seed, another sample', async () => {
    const { records: xs } = await loadBenchmark('xstest');
    const a = sampleInstances(xs, { n: 20, seed: 7 });
    expect(sampleInstances(xs, { n: 20, seed: 7 })).toEqual(a);
    expect(sampleInstances(xs, { n: 20, seed: 8 }).map((r) => r.id)).not.toEqual(a.map((r) => r.id));
  });

  test('stratified by label: proportional shares, and both classes even when one is rare', () => {
    const data = records([...Array<boolean>(97).fill(false), true, true, true]);
    const small = sampleInstances(data, { n: 5, seed: 1 });
    expect(small.filter((r) => r.shouldRefuse)).toHaveLength(1);
    expect(small).toHaveLength(5);
    const xsLike = records([...Array<boolean>(250).fill(false), ...Array<boolean>(200).fill(true)]);
    const ten = sampleInstances(xsLike, { n: 10, seed: 3 });
    expect(ten.filter((r) => r.shouldRefuse)).toHaveLength(4);
    const unstratified = Array.from({ length: 50 }, (_, seed) =>
      sampleInstances(data, { n: 5, seed, stratify: false }),
    );
    expect(unstratified.some((s) => s.every((r) => r.shouldRefuse === false))).toBe(true);
  });

  test('unlabelled records form their own stratum', () => {
    const data = records([
      ...Array<boolean | null>(40).fill(null),
      ...Array<boolean>(30).fill(true),
      ...Array<boolean>(30).fill(false),
    ]);
    const s = sampleInstances(data, { n: 10, seed: 2 });
    expect([
      s.filter((r) => r.shouldRefuse === true).length,
      s.filter((r) => r.shouldRefuse === false).length,
      s.filter((r) => r.shouldRefuse === null).length,
    ]).toEqual([3, 3, 4]);
  });

  test('properties: size, subset, original order, no duplicates, determinism', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(true, false, null), { maxLength: 60 }),
        fc.nat(80),
        fc.integer(),
        fc.boolean(),
        (labels, n, seed, stratify) => {
          const data = records(labels);
          const s = sampleInstances(data, { n, seed, stratify });
          expect(s).toHaveLength(Math.min(n, data.length));
          const idx = s.map((r) => data.indexOf(r));
          expect(idx.every((i) => i >= 0)).toBe(true);
          expect([...idx].sort((a, b) => a - b)).toEqual(idx);
          expect(new Set(idx).size).toBe(idx.length);
          expect(sampleInstances(data, { n, seed, stratify })).toEqual(s);
          if (stratify) {
            const classes = new Set(labels.map(String));
            if (n >= classes.size) expect(new Set(s.map((r) => String(r.shouldRefuse))).size).toBe(classes.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('bad sizes are errors naming the flag', () => {
    expect(() => sampleInstances(records([true]), { n: -1, seed: 1 })).toThrow(DatasetOptionError);
    expect(() => sampleInstances(records([true]), { n: 1.5, seed: 1 })).toThrow(/--num-instances/);
  });

  test('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(1000);
  });
});
