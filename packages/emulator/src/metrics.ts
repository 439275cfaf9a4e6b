// Prometheus text exposition with vLLM's metric names (vllm/v1/metrics/loggers.py), so
// dashboards and benchmarks written for vLLM read the emulator unchanged.

export interface MetricsInput {
  readonly model: string;
  readonly running: number;
  readonly waiting: number;
  readonly maxNumSeqs: number;
  readonly promptTokens: number;
  readonly generationTokens: number;
  readonly finished: Readonly<Record<string, number>>;
  /** Tokens generated for a request whose socket was already destroyed. */
  readonly tokensAfterDisconnect: number;
  /** ∫ running sequences dt, exact (updated at every admission and exit, not sampled). */
  readonly busySeqSeconds: number;
  /** Seconds since start, read together with busySeqSeconds, so their ratio of differences is exact. */
  readonly uptimeSeconds: number;
}

function float(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** Renders the /metrics body. */
export function renderMetrics(m: MetricsInput): string {
  const labels = `engine="0",model_name=${JSON.stringify(m.model)}`;
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [extra, v] of samples) lines.push(`${name}{${labels}${extra}} ${float(v)}`);
  };
  metric('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', [['', m.running]]);
  metric('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', [['', m.waiting]]);
  metric('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', [
    ['', Math.min(1, m.running / m.maxNumSeqs)],
  ]);
  metric('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', [['', m.promptTokens]]);
  metric('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', [
    ['', m.generationTokens],
  ]);
  metric(
    'vllm:request_success_total',
    'counter',
    'Count of successfully processed requests.',
    Object.entries(m.finished).map(([reason, v]): [string, number] => [`,finished_reason="${reason}"`, v]),
  );
  metric('vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.', [['', 0]]);
  // Not in vLLM: exact accounting the emulator can offer and a GPU server cannot (prefixed so no dashboard
  // mistakes them for vLLM's). Sampling num_requests_running misses changes between scrapes; this does not.
  metric('deepconf_emulator_max_num_seqs', 'gauge', 'Batch slots (--max-num-seqs).', [['', m.maxNumSeqs]]);
  metric(
    'deepconf_emulator_uptime_seconds',
    'gauge',
    'Seconds since the emulator started, on the clock the busy counter uses.',
    [['', m.uptimeSeconds]],
  );
  metric(
    'deepconf_emulator_busy_sequence_seconds_total',
    'counter',
    'Integral of running sequences over time, in sequence-seconds; utilisation = delta / (max_num_seqs x seconds).',
    [['', m.busySeqSeconds]],
  );
  metric(
    'deepconf_emulator_tokens_after_disconnect_total',
    'counter',
    'Generation tokens produced after the client socket was closed (0 unless the disconnect check is broken).',
    [['', m.tokensAfterDisconnect]],
  );
  return `${lines.join('\n')}\n`;
}
