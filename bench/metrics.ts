import { BenchError } from './errors.js';

/** The vLLM metrics the bench reads from the emulator's /metrics (vLLM's own names, so a real server works too). */
export type EmulatorMetrics = {
  running: number;
  waiting: number;
  generationTokens: number;
  promptTokens: number;
  /** request_success_total summed over finished_reason (stop, length, abort). */
  finishedRequests: number;
  abortedRequests: number;
};

/** Parses Prometheus text; a metric the bench needs but cannot find is an error naming it. */
export function parseMetrics(text: string): EmulatorMetrics {
  const samples = new Map<string, number>();
  let finished = 0;
  let aborted = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const name = m[1] as string;
    const value = Number(m[3]);
    if (name === 'vllm:request_success_total') {
      finished += value;
      if ((m[2] ?? '').includes('finished_reason="abort"')) aborted += value;
      continue;
    }
    samples.set(name, (samples.get(name) ?? 0) + value);
  }
  const need = (name: string): number => {
    const v = samples.get(name);
    if (v === undefined || Number.isNaN(v)) throw new BenchError(`/metrics has no ${name}; is this a vLLM (or emulator) metrics endpoint?`);
    return v;
  };
  return {
    running: need('vllm:num_requests_running'),
    waiting: need('vllm:num_requests_waiting'),
    generationTokens: need('vllm:generation_tokens_total'),
    promptTokens: need('vllm:prompt_tokens_total'),
    finishedRequests: finished,
    abortedRequests: aborted,
  };
}
