import { join } from 'node:path';
import {
  FILES,
  readRunContents,
  type InstanceRecord,
  type Manifest,
  type RunStore,
  type TraceFields,
} from '@deepconf-safety/run-store';
import type { DecisionConfidence, VoteRule } from '@deepconf-safety/confidence';
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
  /** As recorded; a run from before they were selectable decided by lowest-group confidence and the weighted vote. */
  decisionConfidence: DecisionConfidence;
  vote: VoteRule;
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

/** Reads a run directory for replay: its settings, finished prompts and their traces with decoded confidences. */
export function loadRecording(store: RunStore): Recording {
  // The manifest's config is typed and validated by the run store's schema: nothing to guess or check here.
  const manifest = store.readManifest();
  const c = manifest.config;
  const settings: RecordedSettings = {
    traces: c.traces,
    warmup: c.warmup,
    window: c.window,
    keepPercent: c.keepPercent,
    calibration: c.calibration,
    earlyStop: c.earlyStop,
    consensusTau: c.consensus,
    splitPercentile: c.splitPercentile,
    decisionConfidence: c.decisionConfidence,
    vote: c.vote,
  };
  // One streaming pass, confidences decoded once; the replay never reads the answers' text.
  const contents = readRunContents(store, { dropText: true });
  if (contents.prompts.length === 0) {
    throw new ReplayInputError(
      `${join(store.dir, FILES.instances)}: no finished prompt to replay; finish the run first (npm run experiment -- --resume)`,
    );
  }
  let earlyStoppedTraces = 0;
  const instances: RecordedInstance[] = contents.prompts.map(({ instance: record, traces: stored }) => {
    const traces = stored.map((t) => ({ record: t, confidences: t.confidences }));
    for (const t of stored) if (t.stopReason === 'early_stopped') earlyStoppedTraces++;
    return { record, traces, calibration: stored.some((t) => t.phase === 'warmup') };
  });
  return {
    dir: store.dir,
    manifest,
    settings,
    emulated: manifest.emulated,
    instances,
    unfinished: contents.unfinished,
    earlyStoppedTraces,
  };
}
