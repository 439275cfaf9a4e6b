import { loadBenchmark } from '@deepconf-safety/datasets';
import type { InstanceInput } from '@deepconf-safety/runner';
import type { TraceRequest } from '@deepconf-safety/vllm-client';
import { BenchMeasurementError } from './errors.js';

/** Sampling as `npm run experiment` sends it by default (top-20 confidence, no thinking). */
export const REQUEST_DEFAULTS = {
  maxTokens: 512,
  temperature: 0.6,
  topP: 0.95,
  topK: 20,
  topLogprobs: 20,
  thinking: false,
} as const;

/** XSTest's 450 prompts (shipped with the datasets package: no network). */
export async function xstestInstances(): Promise<InstanceInput[]> {
  const { records } = await loadBenchmark('xstest');
  if (records.length === 0)
    throw new BenchMeasurementError('XSTest loaded with no prompts; check packages/datasets/data/xstest/');
  return records.map((r) => ({
    id: r.id,
    prompt: r.prompt,
    shouldRefuse: r.shouldRefuse,
    category: r.category,
    source: r.source,
  }));
}

/** `count` instances cycling through `base`, with unique ids, for runs longer than the benchmark. */
export function cycleInstances(base: readonly InstanceInput[], count: number): InstanceInput[] {
  return Array.from({ length: count }, (_, i) => {
    const b = base[i % base.length] as InstanceInput;
    return { ...b, id: i < base.length ? b.id : `${b.id}~${Math.floor(i / base.length)}` };
  });
}

/** The i-th trace request of a fixed, seeded sequence over the prompts: the same list always gives the same streams. */
export function traceRequest(prompts: readonly InstanceInput[], i: number): TraceRequest {
  const inst = prompts[i % prompts.length] as InstanceInput;
  return { prompt: inst.prompt, seed: 1000 + i, ...REQUEST_DEFAULTS };
}
