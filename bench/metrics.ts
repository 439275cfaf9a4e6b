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
  /** The emulator's exact counters (`deepconf_emulator_*`); null on a real vLLM, which has none. */
  emulator: EmulatorCounters | null;
};

export type EmulatorCounters = {
  maxNumSeqs: number;
  /** ∫ running sequences dt, kept by the emulator at every admission and exit (not sampled). */
  busySeqSeconds: number;
  /** The emulator's clock (s since start), read with busySeqSeconds: differences of the two give an exact ratio. */
  uptimeSeconds: number;
  /** Tokens generated after the emulator had seen the client's socket close (0 unless its disconnect check broke). */
  tokensAfterDisconnect: number;
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
    if (v === undefined || Number.isNaN(v))
      throw new BenchError(`/metrics has no ${name}; is this a vLLM (or emulator) metrics endpoint?`);
    return v;
  };
  const emulatorNames = [
    'deepconf_emulator_max_num_seqs',
    'deepconf_emulator_uptime_seconds',
    'deepconf_emulator_busy_sequence_seconds_total',
    'deepconf_emulator_tokens_after_disconnect_total',
  ];
  const present = emulatorNames.filter((n) => samples.has(n));
  if (present.length > 0 && present.length < emulatorNames.length) {
    throw new BenchError(
      `/metrics has ${present.join(', ')} but not ${emulatorNames.filter((n) => !samples.has(n)).join(', ')}; emulator and bench are out of step`,
    );
  }
  return {
    running: need('vllm:num_requests_running'),
    waiting: need('vllm:num_requests_waiting'),
    generationTokens: need('vllm:generation_tokens_total'),
    promptTokens: need('vllm:prompt_tokens_total'),
    finishedRequests: finished,
    abortedRequests: aborted,
    emulator:
      present.length === 0
        ? null
        : {
            maxNumSeqs: need('deepconf_emulator_max_num_seqs'),
            busySeqSeconds: need('deepconf_emulator_busy_sequence_seconds_total'),
            uptimeSeconds: need('deepconf_emulator_uptime_seconds'),
            tokensAfterDisconnect: need('deepconf_emulator_tokens_after_disconnect_total'),
          },
  };
}
