import {
  RunStore,
  isRunStoreError,
  readRunContents,
  type InstanceRecord,
  type Manifest,
  type Results,
  type StoredPrompt,
  type StoredTrace,
} from '@deepconf-safety/run-store';
import { RunInputError } from './errors.js';

/** Everything reporting reads from a run directory, read once. */
export interface RunData {
  dir: string;
  manifest: Manifest;
  instances: InstanceRecord[];
  /** Every trace (latest record per index), confidences decoded once; unfinished prompts' traces included. */
  traces: StoredTrace[];
  /** The finished prompts with their traces, in the order of `instances`. */
  prompts: StoredPrompt[];
  /** The benchmark has no labels (`--unlabelled`, or no prompt labelled): reports say accuracy is not available. */
  unlabelled?: boolean;
  /** null while the run has not written results.json (interrupted or still running). */
  results: Results | null;
  /** Either the manifest or results.json says the model was the emulator. */
  emulated: boolean;
}

/** The line reports put at the top of an unlabelled run. */
export const UNLABELLED_NOTICE =
  'Accuracy is not available: this benchmark has no labels (--unlabelled), so accuracy, refusal precision/recall and every test against the label are empty.';

/**
 * Reads a run store in one streaming pass (see `readRunContents`); turns its format errors into a
 * {@link RunInputError} that names the directory.
 */
export function readRun(storeOrDir: RunStore | string): RunData {
  const dir = typeof storeOrDir === 'string' ? storeOrDir : storeOrDir.dir;
  try {
    const store = typeof storeOrDir === 'string' ? RunStore.open(storeOrDir) : storeOrDir;
    const manifest = store.readManifest();
    const { prompts, traces } = readRunContents(store);
    const instances = prompts.map((p) => p.instance);
    const results = store.hasResults() ? store.readResults() : null;
    const emulated = manifest.emulated || manifest.server.emulated || results?.emulated === true;
    // Declared with --unlabelled, or no prompt has a label: either way there is no accuracy to report.
    const unlabelled = manifest.config.unlabelled === true || instances.every((i) => i.shouldRefuse === null);
    return { dir, manifest, instances, traces, prompts, results, emulated, unlabelled };
  } catch (error) {
    if (isRunStoreError(error)) throw new RunInputError(dir, error.message, { cause: error });
    throw error;
  }
}
