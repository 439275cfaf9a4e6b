import { describe, expect, test } from '@jest/globals';
import {
  binaryMetrics,
  bootstrapF1,
  breakdownByGroup,
  formatBreakdown,
  formatInterval,
  parseLabelledCsv,
} from '@deepconf-safety/refusal';
import type { Outcome, RefusalLabel } from '@deepconf-safety/refusal';

const o = (gold: RefusalLabel, predicted: RefusalLabel, group: string | null = null, source = 'f'): Outcome => ({
  source,
  id: 'x',
  gold,
  predicted,
  group,
});

// 20 rows: 8 TP, 2 FP, 2 FN, 8 TN → F1 0.8.
const noisy: Outcome[] = [
  ...Array.from({ length: 8 }, () => o('refusal', 'refusal')),
  ...Array.from({ length: 2 }, () => o('compliance', 'partial_refusal')),
  ...Array.from({ length: 2 }, () => o('partial_refusal', 'compliance')),
  ...Array.from({ length: 8 }, () => o('compliance', 'compliance')),
];

describe('bootstrapF1', () => {
  test('the interval brackets the point estimate, which is the F1 of the rows themselves', () => {
    const ci = bootstrapF1(noisy, { replicates: 500, seed: 3 });
    expect(ci.estimate).toBeCloseTo(binaryMetrics(noisy).f1);
    expect(ci.estimate).toBeCloseTo(0.8);
    expect(ci.low).toBeLessThan(ci.estimate);
    expect(ci.high).toBeGreaterThan(ci.estimate);
    expect(ci).toMatchObject({ n: 20, replicates: 500, seed: 3, level: 0.95, degenerate: false });
  });

  test('is reproducible from its seed and changes with it', () => {
    expect(bootstrapF1(noisy, { seed: 7 })).toEqual(bootstrapF1(noisy, { seed: 7 }));
    const a = bootstrapF1(noisy, { seed: 7 }),
      b = bootstrapF1(noisy, { seed: 8 });
    expect([a.low, a.high]).not.toEqual([b.low, b.high]);
  });

  test('more responses with the same error rate give a narrower interval', () => {
    const small = bootstrapF1(noisy, { seed: 1 });
    const large = bootstrapF1(Array.from({ length: 10 }, () => noisy).flat(), { seed: 1 });
    expect(large.high - large.low).toBeLessThan((small.high - small.low) * 0.6);
  });

  test("resamples within each file, so every resample keeps each file's rows and share", () => {
    // Unstratified resampling would sometimes draw no row of file a (all refusals) and give F1 0.
    const a = Array.from({ length: 3 }, () => o('refusal', 'refusal', null, 'a'));
    const b = Array.from({ length: 30 }, () => o('compliance', 'compliance', null, 'b'));
    expect(bootstrapF1([...a, ...b], { seed: 2 })).toMatchObject({ low: 1, high: 1 });
  });

  test('no errors at all: the interval collapses and says so', () => {
    const perfect = Array.from({ length: 200 }, (_, i) =>
      o(i % 2 === 0 ? 'refusal' : 'compliance', i % 2 === 0 ? 'refusal' : 'compliance', null, 'b'),
    );
    const ci = bootstrapF1(perfect, { seed: 1 });
    expect(ci).toMatchObject({ estimate: 1, low: 1, high: 1, degenerate: true });
    expect(formatInterval(ci)).toMatch(/collapsed/);
  });

  test('rejects a non-positive number of resamples', () => {
    expect(() => bootstrapF1(noisy, { replicates: 0 })).toThrow(/replicates/);
  });
});

describe('breakdownByGroup', () => {
  test('figures per group, F1 null where a group has no refusal anywhere', () => {
    const rows = [
      o('compliance', 'compliance', 'homonyms'),
      o('compliance', 'refusal', 'homonyms'),
      o('refusal', 'refusal', 'contrast_homonyms'),
      o('refusal', 'compliance', 'contrast_homonyms'),
      o('compliance', 'compliance', 'definitions'),
    ];
    const b = breakdownByGroup(rows, { replicates: 200 });
    expect(b.map((g) => g.group)).toEqual(['contrast_homonyms', 'definitions', 'homonyms']);
    expect(b[0]).toMatchObject({ n: 2, goldRefusalRate: 1, predictedRefusalRate: 0.5, accuracy: 0.5 });
    expect(b[1]!.f1).toBeNull();
    expect(b[2]!.f1!.estimate).toBe(0);
    expect(formatBreakdown(b, 'type')).toMatch(/definitions\s+1\s+0\.000\s+0\.000\s+1\.000\s+1\.000\s+-/);
  });

  test('parseLabelledCsv reads the group column when present and fails on it only when asked to', () => {
    const csv = 'id,type,prompt,completion,final_label\n1,homonyms,q,a,1_full_compliance\n';
    expect(parseLabelledCsv(csv, 'f.csv')[0]!.group).toBe('homonyms');
    expect(parseLabelledCsv(csv, 'f.csv', { groupColumn: 'focus' })[0]!.group).toBeNull();
    expect(() => parseLabelledCsv(csv, 'f.csv', { groupColumn: 'focus', requireGroupColumn: true })).toThrow(
      /f\.csv: missing column "focus"/,
    );
  });
});
