import { describe, expect, test } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FORMAT_VERSION, RunStore, RunStoreFormatError, migrateManifest } from '@deepconf-safety/run-store';

// A run directory written by the format-1 code (main before formatVersion): 6 XSTest prompts x 4 traces on the
// built-in emulator, `npm run experiment -- --num-instances 6 --traces 4 --warmup 2 --max-tokens 64 --no-report`.
const FIXTURE = fileURLToPath(new URL('./fixtures/format-1-run', import.meta.url));
const copy = () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'run-store-migrate-')), 'run');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
};

describe('reading a format-1 run directory', () => {
  test('the manifest reads in the current format, config typed, nothing lost', () => {
    const store = RunStore.open(FIXTURE);
    const m = store.readManifest();
    expect(m.formatVersion).toBe(RUN_FORMAT_VERSION);
    expect(m.config).toMatchObject({
      model: 'Qwen/Qwen3-1.7B',
      benchmark: 'xstest',
      numInstances: 6,
      traces: 4,
      warmup: 2,
      window: 64,
      keepPercent: 10,
      thinking: 'off',
      topLogprobs: 20,
      clientThreads: 1,
      retries: 2,
      apiKeyEnv: 'VLLM_API_KEY',
    });
    expect(m.derived).toEqual({
      instancesHash: expect.stringMatching(/^[0-9a-f]{16}$/),
      server: 'emulator',
      confidenceMode: 'exact',
    });
    expect(m.config.baseUrls).toEqual(m.server.baseUrls);
    expect(store.readInstances()).toHaveLength(6);
    expect(store.readTraces()).toHaveLength(24);
    expect(store.readResults().overall.instances).toBe(6);
  });

  test('its decision confidence is the lowest-group definition those runs used, not the later default', () => {
    const raw = JSON.parse(readFileSync(join(FIXTURE, 'manifest.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(raw.config).not.toHaveProperty('decisionConfidence');
    expect(RunStore.open(FIXTURE).readManifest().config.decisionConfidence).toBe('lowest-group');
  });

  test('reading does not rewrite it; resuming rewrites the manifest in the current format', () => {
    const dir = copy();
    const before = readFileSync(join(dir, 'manifest.json'), 'utf8');
    const m = RunStore.open(dir).readManifest();
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(before);
    const { store, migratedFrom, resumed } = RunStore.create(dir, { ...m, startedAt: 'now' }, { resume: true });
    store.close();
    expect({ migratedFrom, resumed }).toEqual({ migratedFrom: 1, resumed: true });
    const raw = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(raw['formatVersion']).toBe(RUN_FORMAT_VERSION);
    expect(raw).not.toHaveProperty('runOptions');
    expect(raw['startedAt']).toBe(m.startedAt);
  });

  test('a newer format is refused, naming the file and what to do', () => {
    const dir = copy();
    const file = join(dir, 'manifest.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), formatVersion: 99 }));
    expect(() => RunStore.open(dir).readManifest()).toThrow(RunStoreFormatError);
    expect(() => RunStore.open(dir).readManifest()).toThrow(
      /manifest\.json: formatVersion 99 was written by a newer deepconf-safety.*upgrade/,
    );
  });

  test('migrateManifest leaves the current format alone', () => {
    const current = { formatVersion: RUN_FORMAT_VERSION, runId: 'x' };
    expect(migrateManifest(current)).toEqual({ ok: true, manifest: current, from: RUN_FORMAT_VERSION });
    expect(migrateManifest({ formatVersion: 'two' })).toMatchObject({ ok: false });
  });
});

describe('format 2 from before --decision-confidence', () => {
  // Format 2 existed from c44ac03; --decision-confidence came in a722e1f. Manifests of the runs in between carry
  // every other config field (defaults filled in) but not this one, and decided by the lowest-group definition.
  const format2 = (config: Record<string, unknown>) => ({ formatVersion: 2, config });

  test('a config without decisionConfidence reads as lowest-group, not the schema default vote-share', () => {
    const r = migrateManifest(format2({ model: 'm', vote: 'weighted' }));
    expect(r).toMatchObject({
      ok: true,
      from: 2,
      manifest: { config: { decisionConfidence: 'lowest-group', model: 'm' } },
    });
  });

  test('a recorded decisionConfidence is kept', () => {
    for (const d of ['vote-share', 'margin', 'lowest-group'])
      expect(migrateManifest(format2({ decisionConfidence: d }))).toMatchObject({
        ok: true,
        manifest: { config: { decisionConfidence: d } },
      });
  });
});
