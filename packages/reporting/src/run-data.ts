import { RunStore, isRunStoreError, type InstanceRecord, type Manifest, type Results, type TraceRecord } from '@deepconf-safety/run-store';
import { RunInputError } from './errors.js';

/** Everything reporting reads from a run directory, read once. */
export interface RunData {
  dir: string;
  manifest: Manifest;
  instances: InstanceRecord[];
  traces: TraceRecord[];
  /** null while the run has not written results.json (interrupted or still running). */
  results: Results | null;
  /** Either the manifest or results.json says the model was the emulator. */
  emulated: boolean;
}

/** Reads a run store; turns its format errors into a {@link RunInputError} that names the directory. */
export function readRun(storeOrDir: RunStore | string): RunData {
  const dir = typeof storeOrDir === 'string' ? storeOrDir : storeOrDir.dir;
  try {
    const store = typeof storeOrDir === 'string' ? RunStore.open(storeOrDir) : storeOrDir;
    const manifest = store.readManifest();
    const instances = store.readInstances();
    const traces = store.readTraces();
    const results = store.hasResults() ? store.readResults() : null;
    return { dir, manifest, instances, traces, results, emulated: manifest.emulated || manifest.server.emulated || results?.emulated === true };
  } catch (error) {
    if (isRunStoreError(error)) throw new RunInputError(dir, error.message, { cause: error });
    throw error;
  }
}

/** A config value by any of the spellings the CLI may have stored (kebab-case flags or camelCase). */
export function configValue(manifest: Manifest, ...keys: string[]): unknown {
  for (const key of keys) {
    if (manifest.config[key] !== undefined) return manifest.config[key];
  }
  return undefined;
}

export function configNumber(manifest: Manifest, ...keys: string[]): number | null {
  const v = configValue(manifest, ...keys);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function configString(manifest: Manifest, ...keys: string[]): string | null {
  const v = configValue(manifest, ...keys);
  return typeof v === 'string' ? v : null;
}
