import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigMismatchError, RunStoreError, RunStoreFormatError } from './errors.js';
import { configHash, diffConfig } from './config-hash.js';
import { prepareRunDirectory } from './directory.js';
import { JsonlAppender, readJsonl } from './jsonl.js';
import { RunLock, type LockEnv } from './lock.js';
import { migrateManifest } from './migrate.js';
import { runIdentity, type RunConfig, type RunDerived } from './run-config.js';
import {
  FILES,
  RUN_FORMAT_VERSION,
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
  config: RunConfig;
  derived?: Partial<RunDerived>;
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

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RunStoreFormatError(file, null, `cannot read JSON (${(error as Error).message})`);
  }
}

function parseWith<S extends z.ZodType>(file: string, schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RunStoreFormatError(
      file,
      null,
      `field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

const readJsonFile = <S extends z.ZodType>(file: string, schema: S): z.infer<S> =>
  parseWith(file, schema, readJson(file));

/** What `create` reports besides the store: how the run directory was found. */
export interface CreateResult {
  store: RunStore;
  manifest: Manifest;
  resumed: boolean;
  /** The format the manifest had on disk when it was resumed (older ones are rewritten in the current format). */
  migratedFrom: number | null;
  /** The pid of a dead writer whose lock was taken over. */
  staleLockOf: number | null;
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

export const traceKey = (t: Pick<TraceRecord, 'instanceId' | 'traceIndex'>): string =>
  `${t.instanceId}#${t.traceIndex}`;

/**
 * A run directory: `manifest.json`, `traces.jsonl` and `instances.jsonl` (appended as work completes),
 * `results.json` (written at the end). Reading is always possible; writing needs {@link RunStore.create}.
 */
export class RunStore {
  #traces: JsonlAppender | null = null;
  #instances: JsonlAppender | null = null;
  #lock: RunLock | null = null;

  private constructor(readonly dir: string) {}

  /** Opens an existing run for reading. */
  static open(dir: string): RunStore {
    if (!existsSync(join(dir, FILES.manifest))) {
      throw new RunStoreError(
        `${dir} is not a run directory (no ${FILES.manifest}); pass the --output directory of an experiment`,
      );
    }
    return new RunStore(dir);
  }

  /**
   * Creates a run directory, or reopens one for `resume`, as its only writer (a lock file holds this process's
   * pid until {@link RunStore.close}). Refuses a directory another live process writes, a path that cannot hold
   * a run, to resume a run whose identity (the options that decide results) differs, and to overwrite an
   * existing run without `resume`.
   */
  static create(dir: string, init: ManifestInit, options: { resume: boolean; lockEnv?: LockEnv }): CreateResult {
    prepareRunDirectory(dir);
    const lock = RunLock.acquire(dir, options.lockEnv);
    try {
      const store = new RunStore(dir);
      store.#lock = lock;
      const { manifest, resumed, migratedFrom } = store.#startManifest(init, options.resume);
      writeJsonAtomic(store.path('manifest'), manifest);
      // Every line is written with one write(2), so a killed process (even kill -9) loses no finished record.
      // Flushing to the disk (for a machine crash) happens in the background once per prompt: an fsync per trace
      // measured ~10% of a run's CPU, and a synchronous one stalls every stream in flight.
      store.#traces = new JsonlAppender(join(dir, FILES.traces), { fsync: false });
      store.#instances = new JsonlAppender(join(dir, FILES.instances), { fsync: false });
      return { store, manifest, resumed, migratedFrom, staleLockOf: lock.tookOverFrom };
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  #startManifest(
    init: ManifestInit,
    resume: boolean,
  ): { manifest: Manifest; resumed: boolean; migratedFrom: number | null } {
    const derived: RunDerived = { instancesHash: null, server: null, confidenceMode: null, ...init.derived };
    const hash = configHash(runIdentity(init.config, derived));
    const now = new Date().toISOString();
    const fresh = { ...init, derived, configHash: hash, status: 'running' as const, updatedAt: now, finishedAt: null };
    if (!existsSync(this.path('manifest')))
      return { manifest: { formatVersion: RUN_FORMAT_VERSION, ...fresh }, resumed: false, migratedFrom: null };
    if (!resume)
      throw new RunStoreError(
        `${this.dir} already holds a run; add --resume to finish it, or choose another --output directory`,
      );
    const { manifest: recorded, from } = this.#readManifestWithFormat();
    const recordedIdentity = runIdentity(recorded.config, recorded.derived);
    if (configHash(recordedIdentity) !== hash) {
      throw new ConfigMismatchError(
        this.dir,
        configHash(recordedIdentity),
        hash,
        diffConfig(recordedIdentity, runIdentity(init.config, derived)),
      );
    }
    const { error: _previousFailure, ...kept } = recorded;
    const manifest: Manifest = { ...kept, ...fresh, formatVersion: RUN_FORMAT_VERSION, startedAt: recorded.startedAt };
    return { manifest, resumed: true, migratedFrom: from === RUN_FORMAT_VERSION ? null : from };
  }

  path(name: keyof typeof FILES): string {
    return join(this.dir, FILES[name]);
  }

  /** manifest.json in the current format, whatever format it has on disk (see migrate.ts). */
  readManifest(): Manifest {
    return this.#readManifestWithFormat().manifest;
  }

  #readManifestWithFormat(): { manifest: Manifest; from: number } {
    const file = this.path('manifest');
    const migrated = migrateManifest(readJson(file));
    if (!migrated.ok) throw new RunStoreFormatError(file, null, migrated.reason);
    return { manifest: parseWith(file, ManifestSchema, migrated.manifest), from: migrated.from };
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
    this.#lock?.release();
    this.#lock = null;
  }

  #writable(appender: JsonlAppender | null): JsonlAppender {
    if (!appender) throw new RunStoreError(`${this.dir} was opened read-only; use RunStore.create to write`);
    return appender;
  }
}
