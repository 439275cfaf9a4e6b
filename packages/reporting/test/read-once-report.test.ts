import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { readRun } from '@deepconf-safety/reporting';
import { computeMetrics } from '../src/metrics.js';
import { errorAnalysisRows } from '../src/report-data.js';
import { bootstrapCI, bootstrapSumsCI } from '../src/stats.js';
import { makeRun } from './make-run.js';

describe('the report keeps only the answers it shows', () => {
  test('texts: shown keeps the error analysis answers and judged traces, and blanks every other text', () => {
    const dir = makeRun({ instances: 40, seed: 3 });
    const all = readRun(dir);
    const judgments = [{ instanceId: all.traces[0]!.instanceId, traceIndex: all.traces[0]!.traceIndex }];
    const shown = readRun(dir, { texts: 'shown', judgments: judgments as never });
    expect(shown.texts).toBe('shown');
    const split = computeMetrics(all).split.confidence;
    const rows = errorAnalysisRows(all, split);
    expect(rows.length).toBeGreaterThan(0);
    expect(errorAnalysisRows(shown, split)).toEqual(rows);
    const kept = new Set([
      ...rows.map((r) => `${r.instanceId}#${r.traceIndex}`),
      `${judgments[0]!.instanceId}#${judgments[0]!.traceIndex}`,
    ]);
    shown.traces.forEach((t, i) => {
      const key = `${t.instanceId}#${t.traceIndex}`;
      expect(t.text).toBe(kept.has(key) ? all.traces[i]!.text : '');
      const { text: _a, reasoning: _b, ...rest } = t;
      const { text: _c, reasoning: _d, ...before } = all.traces[i]!;
      expect(rest).toEqual(before);
    });
    expect(shown.traces.filter((t) => t.text !== '').length).toBeLessThan(all.traces.length / 2);
  });
});

describe('bootstrapSumsCI', () => {
  test('equals bootstrapCI of the same statistics bit for bit (same seed, same resamples)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 900 }), fc.double({ min: 0, max: 2000, noNaN: true })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (rows, seed) => {
          const opts = { resamples: 200, seed };
          const ratio = (t: number, b: number) => (b > 0 ? (100 * (b - t)) / b : Number.NaN);
          const expected = [
            bootstrapCI(
              rows,
              (s) =>
                ratio(
                  s.reduce((a, r) => a + r[0], 0),
                  s.reduce((a, r) => a + r[1], 0),
                ),
              opts,
            ),
            bootstrapCI(rows, (s) => s.reduce((a, r) => a + r[1], 0) / s.length, opts),
          ];
          const got = bootstrapSumsCI(
            [Float64Array.from(rows, (r) => r[0]), Float64Array.from(rows, (r) => r[1])],
            [(sums) => ratio(sums[0]!, sums[1]!), (sums, n) => sums[1]! / n],
            opts,
          );
          expect(got).toEqual(expected);
        },
      ),
      { seed: 15, numRuns: 60 },
    );
    expect(() => bootstrapSumsCI([new Float64Array(0)], [(s) => s[0]!])).toThrow(/empty/);
  });
});
