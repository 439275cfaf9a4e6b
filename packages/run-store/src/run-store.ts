import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigMismatchError, RunStoreError, RunStoreFormatError } from './errors.js';
import { configHash, diffConfig } from './config-hash.js';
import { JsonlAppender, readJsonl } from './jsonl.js';
import {
  FILES,
  InstanceRecordSchema,
  ManifestSchema,
  ResultsSchema,
  TraceRecordSchema,
  type InstanceRecord,
  type Manifest,
  type Results,
  type TraceRecord,
} from './schema.js';

/** What the runner supplies; the store fills in the hash, status and timestamps. */
export interface ManifestInit {
  runId: string;
  startedAt: string;
  config: Record<string, unknown>;
  versions: Record<string, string>;
  gitCommit: string | null;
  server: Manifest['server'];
  emulated: boolean;
  cost?: Manifest['cost'];
  [extra: string]: unknown;
}

/** Writes `value` as JSON so that a reader never sees a half-written file (write a temp file, then rename). */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

function readJsonFile<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RunStoreFormatError(file, null, `cannot read JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RunStoreFormatError(file, null, `field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Later records supersede earlier ones with the same key (`--retry-errors` re-appends what it redoes). */
function latestBy<T>(records: readonly T[], key: (r: T) => string): T[] {
  const map = new Map<string, T>();
  for (const r of records) {
    const k = key(r);
    map.delete(k); // keep insertion order of the latest occurrence
    map.set(k, r);
  }
  return [...map.values()];
}

export const traceKey = (t: Pick<TraceRecord, 'instanceId' | 'traceIndex'>): string => `${t.instanceId}#${t.traceIndex}`;

/**
 * A run directory: `manifest.json`, `traces.jsonl` and `instances.jsonl` (appended as work completes),
 * `results.json` (written at the end). Reading is always possible; writing needs {@link RunStore.create}.
 */
export class RunStore {
  #traces: JsonlAppender | null = null;
  #instances: JsonlAppender | null = null;

  private constructor(readonly dir: string) {}

  /** Opens an existing run for reading. */
  static open(dir: string): RunStore {
    if (!existsSync(join(dir, FILES.manifest))) {
      throw new RunStoreError(`${dir} is not a run directory (no ${FILES.manifest}); pass the --output directory of an experiment`);
    }
    return new RunStore(dir);
  }

  /**
   * Creates a run directory, or reopens one for `resume`. Refuses to resume a run whose configuration
   * differs, and refuses to overwrite an existing run without `resume`.
   */
  static create(dir: string, init: ManifestInit, options: { resume: boolean }): { store: RunStore; manifest: Manifest; resumed: boolean } {
    const store = new RunStore(dir);
    const manifestFile = join(dir, FILES.manifest);
    const hash = configHash(init.config);
    const now = new Date().toISOString();
    let manifest: Manifest;
    let resumed = false;
    if (existsSync(manifestFile)) {
      if (!options.resume) {
        throw new RunStoreError(`${dir} already holds a run; add --resume to finish it, or choose another --output directory`);
      }
      const recorded = store.readManifest();
      if (recorded.configHash !== hash) {
        throw new ConfigMismatchError(dir, recorded.configHash, hash, diffConfig(recorded.config, init.config));
      }
      manifest = { ...recorded, ...init, configHash: hash, startedAt: recorded.startedAt, status: 'running', updatedAt: now, finishedAt: null, schemaVersion: recorded.schemaVersion };
      resumed = true;
    } else {
      mkdirSync(dir, { recursive: true });
      manifest = { schemaVersion: 1, ...init, configHash: hash, status: 'running', updatedAt: now, finishedAt: null };
    }
    writeJsonAtomic(manifestFile, manifest);
    // Every line is written with one write(2), so a killed process (even kill -9) loses no finished record.
    // Flushing to the disk (for a machine crash) happens in the background once per prompt: an fsync per trace
    // measured ~10% of a run's CPU, and a synchronous one stalls every stream in flight.
    store.#traces = new JsonlAppender(join(dir, FILES.traces), { fsync: false });
    store.#instances = new JsonlAppender(join(dir, FILES.instances), { fsync: false });
    return { store, manifest, resumed };
  }

  path(name: keyof typeof FILES): string {
    return join(this.dir, FILES[name]);
  }

  readManifest(): Manifest {
    return readJsonFile(this.path('manifest'), ManifestSchema);
  }

  writeManifest(manifest: Manifest): void {
    writeJsonAtomic(this.path('manifest'), { ...manifest, updatedAt: new Date().toISOString() });
  }

  appendTrace(record: TraceRecord): void {
    this.#writable(this.#traces).append(record);
  }

  appendInstance(record: InstanceRecord): void {
    const instances = this.#writable(this.#instances);
    instances.append(record);
    this.#traces?.syncSoon();
    instances.syncSoon();
  }

  /** Every trace, the latest record per (instance, trace index). */
  readTraces(): TraceRecord[] {
    return latestBy(readJsonl(this.path('traces'), TraceRecordSchema).records, traceKey);
  }

  /** Every finished instance, the latest record per instance id. */
  readInstances(): InstanceRecord[] {
    return latestBy(readJsonl(this.path('instances'), InstanceRecordSchema).records, (r) => r.instanceId);
  }

  hasResults(): boolean {
    return existsSync(this.path('results'));
  }

  readResults(): Results {
    return readJsonFile(this.path('results'), ResultsSchema);
  }

  writeResults(results: Results): void {
    writeJsonAtomic(this.path('results'), results);
  }

  close(): void {
    this.#traces?.close();
    this.#instances?.close();
    this.#traces = this.#instances = null;
  }

  #writable(appender: JsonlAppender | null): JsonlAppender {
    if (!appender) throw new RunStoreError(`${this.dir} was opened read-only; use RunStore.create to write`);
    return appender;
  }
}
