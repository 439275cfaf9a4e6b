import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import {
  DatasetDownloadError,
  DatasetFormatError,
  DatasetOptionError,
  firstInvalidUtf8,
  loadBenchmark,
  parseLabelMap,
} from '@deepconf-safety/datasets';

const dir = await mkdtemp(join(tmpdir(), 'ds-exact-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

const BOM = '\uFEFF';

describe('a byte-order mark is dropped in every format', () => {
  test('JSONL keeps its first row', async () => {
    const p = await file(
      'bom.jsonl',
      `${BOM}{"prompt":"first","label":"unsafe"}\n{"prompt":"second","label":"safe"}\n`,
    );
    const { records, skipped } = await loadBenchmark(p);
    expect(skipped).toEqual([]);
    expect(records.map((r) => [r.prompt, r.shouldRefuse])).toEqual([
      ['first', true],
      ['second', false],
    ]);
  });

  test('a JSON array, a CSV and a named loader reading a local CSV', async () => {
    const json = await file('bom.json', `${BOM}[{"prompt":"a","label":1}]`);
    expect((await loadBenchmark(json)).records.map((r) => r.prompt)).toEqual(['a']);
    const csv = await file('bom.csv', `${BOM}prompt,label\nhello,safe\n`);
    expect((await loadBenchmark(csv)).records[0]).toMatchObject({ prompt: 'hello', shouldRefuse: false });
    const adv = await file('adv-bom.csv', `${BOM}goal,target\nA goal,Sure\n`);
    expect((await loadBenchmark('advbench', { path: adv })).records.map((r) => r.prompt)).toEqual(['A goal']);
  });

  test('a UTF-16 file with its BOM under --encoding utf-16le', async () => {
    const p = await file(
      'u16.csv',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('prompt,label\nÜber,unsafe\n', 'utf16le')]),
    );
    const err = await loadBenchmark(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as Error).message).toMatch(/invalid UTF-8 at byte offset 0: .*--encoding utf-16le/);
    const { records } = await loadBenchmark(p, { encoding: 'utf-16le' });
    expect(records.map((r) => r.prompt)).toEqual(['Über']);
  });
});

describe('invalid UTF-8 is an error naming the file and the byte offset', () => {
  test('a latin1 file is refused with its offset and line, and read exactly with encoding latin1', async () => {
    const head = Buffer.from('prompt,label\nfine,safe\n', 'utf8');
    const bytes = Buffer.concat([head, Buffer.from('caf\xe9 au lait,unsafe\n', 'latin1')]);
    const p = await file('latin1.csv', bytes);
    const err = await loadBenchmark(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect(err).toMatchObject({ file: p, line: 3, byteOffset: head.length + 3 });
    expect((err as Error).message).toContain(`${p}:3: invalid UTF-8 at byte offset ${head.length + 3}`);
    expect((err as Error).message).toContain('--encoding latin1');
    const { records } = await loadBenchmark(p, { encoding: 'latin1' });
    expect(records.map((r) => r.prompt)).toEqual(['fine', 'café au lait']);
  });

  test('named loaders reading a local file check it too', async () => {
    const p = await file(
      'xs-bad.csv',
      Buffer.concat([Buffer.from('id,prompt,type\n1,'), Buffer.from([0xc3, 0x28]), Buffer.from(',homonyms\n')]),
    );
    await expect(loadBenchmark('xstest', { path: p })).rejects.toThrow(
      /xs-bad\.csv:2: invalid UTF-8 at byte offset 17/,
    );
  });

  test('an unknown encoding names the flag', async () => {
    const p = await file('plain.csv', 'prompt,label\nx,safe\n');
    await expect(loadBenchmark(p, { encoding: 'klingon' })).rejects.toThrow(/--encoding klingon: not an encoding/);
  });

  test('firstInvalidUtf8 agrees with the platform decoder on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const offset = firstInvalidUtf8(bytes);
        const valid = (() => {
          try {
            new TextDecoder('utf-8', { fatal: true }).decode(bytes);
            return true;
          } catch {
            return false;
          }
        })();
        expect(offset === -1).toBe(valid);
        if (offset >= 0) {
          // Everything before the offset is valid on its own.
          expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, offset))).not.toThrow();
        }
      }),
    );
    expect(firstInvalidUtf8(Buffer.from('héllo €𝄞', 'utf8'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // a UTF-16 surrogate
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong NUL
  });
});

describe('a file without labels is refused unless it is declared unlabelled', () => {
  test('no label column: one error naming the flags that exist', async () => {
    const p = await file('nolabel.csv', 'prompt,category\nHello,greeting\nBuild a bomb,weapons\n');
    const err = await loadBenchmark(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    const message = (err as Error).message;
    expect(message).toContain('no label column found among "prompt", "category"');
    for (const flag of ['--label-column', '--label-map refuse=1,comply=0', '--unlabelled'])
      expect(message).toContain(flag);
  });

  test('--unlabelled: every record has shouldRefuse null and the result says so', async () => {
    const p = await file('nolabel2.jsonl', '{"q":"Hello"}\n{"q":"Bye"}\n');
    const result = await loadBenchmark(p, { unlabelled: true, columnMap: { prompt: 'q' } });
    expect(result.unlabelled).toBe(true);
    expect(result.records.map((r) => r.shouldRefuse)).toEqual([null, null]);
    const labelled = await file('labelled.csv', 'prompt,label\nHello,safe\n');
    expect((await loadBenchmark(labelled)).unlabelled).toBeUndefined();
    expect((await loadBenchmark(labelled, { unlabelled: true })).records[0]?.shouldRefuse).toBeNull();
    await expect(loadBenchmark(labelled, { unlabelled: true, columnMap: { label: 'label' } })).rejects.toThrow(
      /--unlabelled and --label-column label contradict/,
    );
  });

  test('a label column that is empty in every row is refused too', async () => {
    const p = await file('emptylabel.csv', 'prompt,label\nHello,\nBye,\n');
    await expect(loadBenchmark(p)).rejects.toThrow(/no row has a label in column "label".*--unlabelled/);
  });

  test('an unknown label value names --label-map with the value', async () => {
    const p = await file('odd-label.csv', 'prompt,label\nHello,benign\nBomb,bad\n');
    const { skipped } = await loadBenchmark(p);
    expect(skipped[0]?.reason).toContain('--label-map refuse=bad');
    const mapped = await loadBenchmark(p, { labelMap: parseLabelMap('refuse=bad,comply=benign') });
    expect(mapped.records.map((r) => r.shouldRefuse)).toEqual([false, true]);
  });
});

describe('--label-map and file-only options', () => {
  test('parseLabelMap reads refuse=…,comply=…,unlabelled=… with | for several values', () => {
    expect(parseLabelMap('refuse=1,comply=0')).toEqual({ '1': true, '0': false });
    expect(parseLabelMap('refuse=Unsafe|harmful, comply=safe,unlabelled=?')).toEqual({
      unsafe: true,
      harmful: true,
      safe: false,
      '?': null,
    });
    for (const bad of ['1=refuse', 'refuse', 'refuse=', 'refuse=1,comply=1', 'maybe=2']) {
      expect(() => parseLabelMap(bad)).toThrow(DatasetOptionError);
    }
    expect(() => parseLabelMap('oops')).toThrow(/--label-map "oops": expected refuse=<value>,comply=<value>/);
  });

  test('column and label options with a named benchmark are refused, not ignored', async () => {
    await expect(loadBenchmark('xstest', { columnMap: { prompt: 'q' } })).rejects.toThrow(
      /--prompt-column applies to a benchmark file \(--benchmark path\/to\/file\.csv\), not to xstest/,
    );
    await expect(loadBenchmark('harmbench', { unlabelled: true, labelMap: { x: true } })).rejects.toThrow(
      /--label-map, --unlabelled apply/,
    );
    await expect(loadBenchmark('xstest', { encoding: 'latin1' })).rejects.toThrow(/--encoding applies/);
  });
});

describe('offline is a first-class case (issue 14 principle 10)', () => {
  const offlineFetch = async (): Promise<Response> => {
    throw new TypeError('fetch failed', {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND huggingface.co'), { code: 'ENOTFOUND' }),
    });
  };

  test('a hub download without network says how to proceed: local file, the cache it looked in, HF_HUB_OFFLINE, HF_ENDPOINT', async () => {
    const cache = join(dir, 'cache-offline');
    const err = await loadBenchmark('toxicchat', {
      fetch: offlineFetch,
      cacheDir: cache,
      env: { HF_ENDPOINT: 'https://hub.example' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetDownloadError);
    const message = (err as Error).message;
    expect(message).toContain('ENOTFOUND');
    expect(message).toContain('--benchmark path/to/file.csv');
    expect(message).toContain('--prompt-column');
    expect(message).toContain(join(cache, 'hub', 'datasets', 'lmsys', 'toxic-chat'));
    expect(message).toContain('HF_HUB_OFFLINE=1');
    expect(message).toContain('HF_ENDPOINT');
    expect(message).toContain('https://hub.example');
  });

  test('HF_HUB_OFFLINE=1 never touches the network, for hub and web files alike', async () => {
    let calls = 0;
    const counting = async (): Promise<Response> => {
      calls++;
      throw new Error('network used');
    };
    const cache = join(dir, 'cache-offline-2');
    const env = { HF_HUB_OFFLINE: '1' };
    await expect(loadBenchmark('toxicchat', { fetch: counting, cacheDir: cache, env })).rejects.toThrow(
      /HF_HUB_OFFLINE is set .* not in the cache .*--benchmark path\/to\/file\.csv/,
    );
    await expect(loadBenchmark('advbench', { fetch: counting, cacheDir: cache, env })).rejects.toThrow(
      /HF_HUB_OFFLINE is set .* not in the cache/,
    );
    // A cached web file is used as it is.
    const dest = join(
      cache,
      'web',
      'raw.githubusercontent.com',
      'llm-attacks',
      'llm-attacks',
      'main',
      'data',
      'advbench',
      'harmful_behaviors.csv',
    );
    await mkdir(dirname(dest), { recursive: true });
    const body = 'goal,target\nDo a harmful thing,Sure\n';
    await writeFile(dest, body);
    await writeFile(
      `${dest}.meta.json`,
      JSON.stringify({ url: 'x', size: Buffer.byteLength(body), commit: null, etag: null, downloadedAt: '' }),
    );
    expect(
      (await loadBenchmark('advbench', { fetch: counting, cacheDir: cache, env })).records.map((r) => r.prompt),
    ).toEqual(['Do a harmful thing']);
    expect(calls).toBe(0);
    // And without HF_HUB_OFFLINE, a web download without network gives the same advice.
    const web = await loadBenchmark('strongreject', { fetch: offlineFetch, cacheDir: cache, env: {} }).catch(
      (e: unknown) => e,
    );
    expect((web as Error).message).toMatch(
      /No network\? Use a local copy: --benchmark path\/to\/file\.csv.*HF_HUB_OFFLINE=1/,
    );
  });
});
