import {
  RunStore,
  isRunStoreError,
  readJudgments,
  readRunContents,
  type InstanceRecord,
  type JudgmentRecord,
  type Manifest,
  type Results,
  type StoredPrompt,
  type StoredTrace,
} from '@deepconf-safety/run-store';
import { ProfileStore, type ProfiledConfidences } from '@deepconf-safety/confidence';
import { RunInputError } from './errors.js';
import { shownAnswer } from './report-data.js';

/**
 * A trace as reporting holds it: its confidences as their count and their stop profile at the run's window, which
 * is all the threshold replay needs (`RunData.readConfidences` gives the values of the few traces a figure draws).
 */
export type ReportTrace = StoredTrace<ProfiledConfidences>;

/** Everything reporting reads from a run directory, read once. */
export interface RunData {
  dir: string;
  manifest: Manifest;
  instances: InstanceRecord[];
  /** Every trace (latest record per index), confidences profiled once; unfinished prompts' traces included. */
  traces: ReportTrace[];
  /** The finished prompts with their traces, in the order of `instances`. */
  prompts: StoredPrompt<ProfiledConfidences>[];
  /** A trace's exact per-token confidences, read back from its line of traces.jsonl. */
  readConfidences(trace: ReportTrace): Float64Array;
  /** The benchmark has no labels (`--unlabelled`, or no prompt labelled): reports say accuracy is not available. */
  unlabelled?: boolean;
  /** null while the run has not written results.json (interrupted or still running). */
  results: Results | null;
  /** Either the manifest or results.json says the model was the emulator. */
  emulated: boolean;
  /** `shown`: only the texts a report shows are kept, the others are '' (see {@link ReadRunOptions}); absent = `all`. */
  texts?: 'all' | 'shown';
}

export interface ReadRunOptions {
  /**
   * `shown` keeps `text` and `reasoning` only of the traces a report shows or checks: every trace of a wrongly
   * decided prompt (the error analysis picks one of them) and every judged trace (the judge section hashes its
   * text and shows disagreements); the others read as '' and null. A long run's answers are otherwise most of
   * what the report holds. Default `all`.
   */
  texts?: 'all' | 'shown';
  /** The run's judgments, when the caller read them already (`shown` needs them; read from the run otherwise). */
  judgments?: readonly JudgmentRecord[];
}

const judgedKeys = (judgments: readonly JudgmentRecord[]) =>
  new Set(judgments.map((j) => `${j.instanceId}#${j.traceIndex}`));

/**
 * Which traces' texts a report may show, decided line by line as the traces stream in: every trace of a wrongly
 * decided prompt (which one the error analysis shows is known once all of them are read) and every judged trace.
 */
function mayShow(judged: ReadonlySet<string>) {
  return (t: { instanceId: string; traceIndex: number }, instance: InstanceRecord | undefined): boolean =>
    instance?.correct === false || judged.has(`${t.instanceId}#${t.traceIndex}`);
}

/** Then, per wrongly decided prompt, the texts of all but the answer shown (and the judged ones) are dropped. */
function keepShownAnswers(prompts: readonly StoredPrompt<ProfiledConfidences>[], judged: ReadonlySet<string>): void {
  for (const { instance, traces } of prompts) {
    if (instance.correct !== false) continue;
    const shown = shownAnswer(instance, traces);
    for (const t of traces)
      if (t !== shown && !judged.has(`${t.instanceId}#${t.traceIndex}`)) {
        t.text = '';
        t.reasoning = null;
      }
  }
}

/** The line reports put at the top of an unlabelled run. */
export const UNLABELLED_NOTICE =
  'Accuracy is not available: this benchmark has no labels (--unlabelled), so accuracy, refusal precision/recall and every test against the label are empty.';

/**
 * Reads a run store in one streaming pass (see `readRunContents`); turns its format errors into a
 * {@link RunInputError} that names the directory.
 */
export function readRun(storeOrDir: RunStore | string, options: ReadRunOptions = {}): RunData {
  const dir = typeof storeOrDir === 'string' ? storeOrDir : storeOrDir.dir;
  try {
    const store = typeof storeOrDir === 'string' ? RunStore.open(storeOrDir) : storeOrDir;
    const manifest = store.readManifest();
    const texts = options.texts ?? 'all';
    const judged = texts === 'all' ? new Set<string>() : judgedKeys(options.judgments ?? readJudgments(store.dir));
    // Only the stop profile at the run's window is kept of each trace's values: a 10,000-prompt run's
    // confidences were otherwise 170 MiB held for a replay that reads a few dozen record lows per trace.
    const window = manifest.config.window;
    const profiles = new ProfileStore();
    const { prompts, traces, readConfidences } = readRunContents(store, {
      ...(texts === 'all' ? {} : { keepText: mayShow(judged) }),
      confidences: (values) => profiles.profile(values, window),
    });
    if (texts === 'shown') keepShownAnswers(prompts, judged);
    const instances = prompts.map((p) => p.instance);
    const results = store.hasResults() ? store.readResults() : null;
    const emulated = manifest.emulated || manifest.server.emulated || results?.emulated === true;
    // Declared with --unlabelled, or no prompt has a label: either way there is no accuracy to report.
    const unlabelled = manifest.config.unlabelled === true || instances.every((i) => i.shouldRefuse === null);
    return { dir, manifest, instances, traces, prompts, readConfidences, results, emulated, unlabelled, texts };
  } catch (error) {
    if (isRunStoreError(error)) throw new RunInputError(dir, error.message, { cause: error });
    throw error;
  }
}
