import type { ResumeState } from './resume-state.js';
import type { RunControl } from './run-control.js';
import type { RunRecorder } from './run-recorder.js';
import type { InstanceInput, RunSettings } from './settings.js';
import type { TraceRunner } from './trace-runner.js';

/** The parts of one run every prompt shares. */
export interface RunContext {
  instances: readonly InstanceInput[];
  settings: RunSettings;
  control: RunControl;
  traces: TraceRunner;
  recorder: RunRecorder;
  resume: ResumeState;
}

/**
 * Where a prompt's threshold comes from. Per-instance: its own warmup. Global: the warmup of the calibration slice,
 * run before any prompt (only the slice's prompts have warmup traces).
 */
export type Calibration =
  | { kind: 'per-instance' }
  | { kind: 'global'; threshold: number | null; instanceIds: ReadonlySet<string> };
