import { join } from 'node:path';
import { FILES, readRunContents, type InstanceRecord, type Manifest, type RunStore, type TraceFields } from '@deepconf-safety/run-store';
import { ReplayInputError } from './errors.js';

/** The DeepConf settings a run was recorded with (from `manifest.json` `config`). */
export interface RecordedSettings {
  traces: number;
  warmup: number;
  window: number;
  keepPercent: number;
  calibration: 'per-instance' | 'global';
  earlyStop: boolean;
  consensusTau: number | null;
  splitPercentile: number;
}

export interface RecordedTrace {
  /** The trace as stored (from `loadRecording`: text dropped, `record.confidences` the same decoded array). */
  record: TraceFields;
  /** Exact per-token confidences as streamed (the prefix up to the stop for an early-stopped trace). */
  confidences: Float64Array;
}

export interface RecordedInstance {
  record: InstanceRecord;
  /** By trace index. */
  traces: RecordedTrace[];
  /** Under global calibration: whether this prompt's warmup set the run's threshold. */
  calibration: boolean;
}

export interface Recording {
  dir: string;
  manifest: Manifest;
  settings: RecordedSettings;
  emulated: boolean;
  /** Finished prompts, in the order of instances.jsonl (the order results.json was summed in). */
  instances: RecordedInstance[];
  /** Prompts with traces on disk but no instance record (an interrupted run): left out of every replay. */
  unfinished: string[];
  /** Early-stopped traces in the recording: a replay cannot lengthen them. */
  earlyStoppedTraces: number;
}

type Check = (v: unknown) => boolean;
const isInt = (min: number): Check => (v) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const CHECKS: ReadonlyArray<[field: string, check: Check, expected: string]> = [
  ['traces', isInt(1), 'an integer >= 1'],
  ['warmup', isInt(0), 'an integer >= 0'],
  ['window', isInt(1), 'an integer >= 1'],
  ['keepPercent', (v) => typeof v === 'number' && v > 0 && v <= 100, 'a number in (0, 100]'],
  ['calibration', (v) => v === 'per-instance' || v === 'global', "'per-instance' or 'global'"],
  ['earlyStop', (v) => typeof v === 'boolean', 'true or false'],
  ['consensus', (v) => v === undefined || v === null || typeof v === 'number', 'a number or null'],
  ['splitPercentile', (v) => typeof v === 'number' && v >= 0 && v <= 100, 'a number in [0, 100]'],
];

/** Reads a run directory for replay: its settings, finished prompts and their traces with decoded confidences. */
export function loadRecording(store: RunStore): Recording {
  const manifest = store.readManifest();
  const c = manifest.config;
  for (const [field, check, expected] of CHECKS) {
    if (!check(c[field])) {
      throw new ReplayInputError(
        `${join(store.dir, FILES.manifest)}: config.${field} must be ${expected} (got ${JSON.stringify(c[field]) ?? 'nothing'}); ` +
          'only runs written by `npm run experiment` can be replayed',
      );
    }
  }
  const settings: RecordedSettings = {
    traces: c['traces'] as number,
    warmup: c['warmup'] as number,
    window: c['window'] as number,
    keepPercent: c['keepPercent'] as number,
    calibration: c['calibration'] as RecordedSettings['calibration'],
    earlyStop: c['earlyStop'] as boolean,
    consensusTau: (c['consensus'] as number | null | undefined) ?? null,
    splitPercentile: c['splitPercentile'] as number,
  };
  // One streaming pass, confidences decoded once; the replay never reads the answers' text.
  const contents = readRunContents(store, { dropText: true });
  if (contents.prompts.length === 0) {
    throw new ReplayInputError(`${join(store.dir, FILES.instances)}: no finished prompt to replay; finish the run first (npm run experiment -- --resume)`);
  }
  let earlyStoppedTraces = 0;
  const instances: RecordedInstance[] = contents.prompts.map(({ instance: record, traces: stored }) => {
    const traces = stored.map((t) => ({ record: t, confidences: t.confidences }));
    for (const t of stored) if (t.stopReason === 'early_stopped') earlyStoppedTraces++;
    return { record, traces, calibration: stored.some((t) => t.phase === 'warmup') };
  });
  return { dir: store.dir, manifest, settings, emulated: manifest.emulated, instances, unfinished: contents.unfinished, earlyStoppedTraces };
}
