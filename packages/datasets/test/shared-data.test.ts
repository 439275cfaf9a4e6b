import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadBenchmark, type BenchmarkRecord } from '@deepconf-safety/datasets';

// The real benchmark samples live in shared/ beside the clone on the team's machines (licences of their own, not
// copied into the project); a plain clone has no such folder and skips these checks.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const shared = join(repoRoot, '..', 'shared', 'data');
const haveShared = existsSync(shared);
const offline = {
  env: { HOME: '/nonexistent', DEEPCONF_CACHE: '/nonexistent' },
  fetch: () => Promise.reject(new Error('no network in this test')),
};

function countBy(records: readonly BenchmarkRecord[], key: (r: BenchmarkRecord) => unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    const k = String(key(r));
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

(haveShared ? describe : describe.skip)(
  'every shared data file through its loader (counts from shared/data/README.md)',
  () => {
    test('XSTest: 450 prompts, 250 safe / 200 unsafe, 18 types × 25, unsafe = contrast_*', async () => {
      const { records, skipped } = await loadBenchmark('xstest', {
        ...offline,
        path: join(shared, 'xstest/xstest_prompts.csv'),
      });
      expect(skipped).toEqual([]);
      expect(records).toHaveLength(450);
      expect(countBy(records, (r) => r.shouldRefuse)).toEqual({ true: 200, false: 250 });
      const types = countBy(records, (r) => r.category);
      expect(Object.keys(types)).toHaveLength(18);
      expect(new Set(Object.values(types))).toEqual(new Set([25]));
      expect(Object.keys(types).filter((t) => t.startsWith('contrast_'))).toHaveLength(8);
      for (const r of records) expect(r.shouldRefuse).toBe(r.category.startsWith('contrast_'));
      expect(records.find((r) => r.id === 'xstest-195')?.prompt).toMatch(/someone's death/);
    });

    test('the shipped XSTest copy is byte-identical to the shared one and is the default benchmark', async () => {
      const digest = async (p: string) =>
        createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
      const shipped = fileURLToPath(new URL('../data/xstest/xstest_prompts.csv', import.meta.url));
      expect(await digest(shipped)).toBe(await digest(join(shared, 'xstest/xstest_prompts.csv')));
      expect((await digest(shipped)).slice(0, 16)).toBe('11783fb294ed0174');
      const def = await loadBenchmark(undefined, offline);
      expect(def.source).toBe(shipped);
      expect(def.records).toHaveLength(450);
    });

    test.each([
      ['all', 400, { standard: 200, copyright: 100, contextual: 100 }],
      ['test', 320, null],
      ['val', 80, null],
    ] as const)('HarmBench %s: %i behaviours, all to be refused', async (split, n, functional) => {
      const { records, skipped } = await loadBenchmark('harmbench', {
        ...offline,
        path: join(shared, `harmbench/harmbench_behaviors_text_${split}.csv`),
      });
      expect(skipped).toEqual([]);
      expect(records).toHaveLength(n);
      expect(records.every((r) => r.shouldRefuse === true)).toBe(true);
      if (functional) {
        expect(countBy(records, (r) => r.meta['functionalCategory'])).toEqual(functional);
        expect(Object.keys(countBy(records, (r) => r.category)).sort()).toEqual([
          'chemical_biological',
          'copyright',
          'cybercrime_intrusion',
          'harassment_bullying',
          'harmful',
          'illegal',
          'misinformation_disinformation',
        ]);
        for (const r of records.filter((x) => x.meta['functionalCategory'] === 'contextual')) {
          expect(r.prompt).toBe(`${String(r.meta['contextString'])}\n\n---\n\n${String(r.meta['behavior'])}`);
        }
        // The shipped split files are the shared ones.
        expect((await loadBenchmark('harmbench', { ...offline, split })).records).toEqual(records);
      }
    });

    test('AdvBench: 520 goals with "Sure, here is/are" targets, all to be refused', async () => {
      const { records, skipped } = await loadBenchmark('advbench', {
        ...offline,
        path: join(shared, 'advbench/harmful_behaviors.csv'),
      });
      expect(skipped).toEqual([]);
      expect(records).toHaveLength(520);
      expect(
        records.every((r) => r.shouldRefuse === true && /^Sure, here (is|are) /.test(String(r.meta['target']))),
      ).toBe(true);
    });

    test('StrongREJECT: 313 prompts in 6 categories', async () => {
      const { records, skipped } = await loadBenchmark('strongreject', {
        ...offline,
        path: join(shared, 'strongreject/strongreject_dataset.csv'),
      });
      expect(skipped).toEqual([]);
      expect(records).toHaveLength(313);
      expect(countBy(records, (r) => r.category)).toEqual({
        'Disinformation and deception': 50,
        'Hate, harassment and discrimination': 50,
        'Illegal goods and services': 50,
        'Non-violent crimes': 59,
        'Sexual content': 50,
        Violence: 54,
      });
      const origins = countBy(records, (r) => r.meta['origin']);
      expect([origins['custom'], origins['DAN'], origins['AdvBench']]).toEqual([221, 35, 25]);
    });

    test.each([
      ['train', 2801, 384, 113],
      ['test', 2853, 362, 91],
    ] as const)('ToxicChat JUDGE-BENCH %s: %i rows, %i toxic, %i jailbreaking', async (split, n, toxic, jail) => {
      const { records, skipped } = await loadBenchmark('toxicchat', {
        ...offline,
        path: join(shared, `toxicchat_judgebench/toxic_chat_${split}.json`),
      });
      expect(skipped).toEqual([]);
      expect(records).toHaveLength(n);
      expect(records.filter((r) => r.shouldRefuse === true)).toHaveLength(toxic);
      expect(records.filter((r) => r.meta['jailbreaking'] === 1)).toHaveLength(jail);
      expect(records.every((r) => r.meta['humanAnnotation'] === true)).toBe(true);
    });
  },
);
