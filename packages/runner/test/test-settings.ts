import type { RunSettings } from '@deepconf-safety/runner';

/** The sampling every test run asks for, up to `maxTokens` tokens. */
export const testRequest = (maxTokens: number): RunSettings['request'] => ({
  maxTokens,
  temperature: 0.6,
  topP: 0.95,
  topK: 20,
  topLogprobs: 20,
  thinking: false,
});

/**
 * Settings for short test runs: by default those of real runs against the in-process emulator (6 traces of up to
 * 128 tokens, 2 warmups, a 16-token window and η = 50 %, so that early stopping happens often enough).
 */
export const testSettings = (seed: number, over: Partial<RunSettings> = {}): RunSettings => ({
  traces: 6,
  warmup: 2,
  window: 16,
  keepPercent: 50,
  calibration: 'per-instance',
  calibrationInstances: 1,
  earlyStop: true,
  consensusTau: null,
  seed,
  splitPercentile: 50,
  request: testRequest(128),
  ...over,
});
