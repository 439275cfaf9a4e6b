// Saturation (issue 9 §3): how much of the server's batch the runner keeps busy, from the emulator's exact
// busy-sequence counter (or vLLM's own running gauge when the server is a real vLLM).
import { BenchMeasurementError } from './errors.js';
import type { InFlightEvent, MetricsSample } from './experiment.js';

export type SaturationResult = {
  /** busy sequence-seconds / (maxNumSeqs × seconds) over the steady part. */
  utilization: number;
  details: {
    /**
     * How busy sequence-seconds were found: 'busy-counter' = the difference of the emulator's exact
     * deepconf_emulator_busy_sequence_seconds_total between the steady part's first and last sample, over the
     * difference of deepconf_emulator_uptime_seconds (the same clock);
     * 'sampled-gauge' = vllm:num_requests_running integrated by trapezoids (a real vLLM has no such counter).
     */
    method: 'busy-counter' | 'sampled-gauge';
    /** The trapezoid integral of the running gauge over the same part, for comparison with the counter. */
    sampledUtilization: number;
    maxNumSeqs: number;
    /** The steady part: while at least maxNumSeqs traces were still unfinished, so a perfect client fills every slot. */
    steadySeconds: number;
    steadyFrom: number;
    steadyTo: number;
    /** Generation tokens / (maxNumSeqs × per-sequence speed × seconds) over the same part: the decode capacity used. */
    tokenUtilization: number | null;
    /** busy sequence-seconds / (maxNumSeqs × seconds) over the whole run, tail included. */
    wholeRunUtilization: number;
    /** The same ratio from the client's side: traces in flight (capped at maxNumSeqs), integrated exactly. */
    clientUtilization: number;
    meanRunning: number;
    meanWaiting: number;
    samples: number;
  };
};

/**
 * Busy sequence-seconds over the steady part: from the emulator's exact counter when /metrics has it, else the
 * `running` gauge integrated by the trapezoid rule. `plannedRequests` is how many traces the
 * experiment sends; the steady part ends once fewer than maxNumSeqs of them are left.
 */
export function analyseSaturation(
  samples: readonly MetricsSample[],
  inFlight: readonly InFlightEvent[],
  o: { maxNumSeqs: number; plannedRequests: number; tokensPerSecond: number | null; startFinished: number },
): SaturationResult {
  const started = samples.findIndex((s) => s.running + s.waiting > 0);
  if (started < 0) throw new BenchMeasurementError('saturation: no /metrics sample saw a running request');
  let end = started;
  for (let i = started; i < samples.length; i++) {
    const s = samples[i] as MetricsSample;
    if (o.plannedRequests - (s.finishedRequests - o.startFinished) >= o.maxNumSeqs) end = i;
  }
  const integrate = (from: number, to: number) => {
    let busy = 0;
    let waiting = 0;
    for (let i = from; i < to; i++) {
      const a = samples[i] as MetricsSample;
      const b = samples[i + 1] as MetricsSample;
      const dt = b.t - a.t;
      busy += ((Math.min(a.running, o.maxNumSeqs) + Math.min(b.running, o.maxNumSeqs)) / 2) * dt;
      waiting += ((a.waiting + b.waiting) / 2) * dt;
    }
    const span = (samples[to] as MetricsSample).t - (samples[from] as MetricsSample).t;
    return { busy, waiting, span };
  };
  if (end - started < 2)
    throw new BenchMeasurementError(
      `saturation: the steady part holds ${end - started + 1} samples; run more traces (at least a few times ${o.maxNumSeqs})`,
    );
  const steady = integrate(started, end);
  const whole = integrate(started, samples.length - 1);
  const a = samples[started] as MetricsSample;
  const b = samples[end] as MetricsSample;
  for (const s of [a, b]) {
    if (s.emulator !== null && s.emulator.maxNumSeqs !== o.maxNumSeqs) {
      throw new BenchMeasurementError(
        `saturation: the emulator reports max_num_seqs ${s.emulator.maxNumSeqs} but the bench started it with ${o.maxNumSeqs}`,
      );
    }
  }
  const sampledUtilization = steady.busy / (o.maxNumSeqs * steady.span);
  // Busy sequence-seconds per second between two reads, both differenced on the emulator's own clock: exact, and
  // free of when the client happened to date each read.
  const busyRate = (x: MetricsSample, y: MetricsSample): number | null =>
    x.emulator !== null && y.emulator !== null && y.emulator.uptimeSeconds > x.emulator.uptimeSeconds
      ? (y.emulator.busySeqSeconds - x.emulator.busySeqSeconds) / (y.emulator.uptimeSeconds - x.emulator.uptimeSeconds)
      : null;
  const steadyRate = busyRate(a, b);
  const exact = steadyRate === null ? null : steadyRate / o.maxNumSeqs;
  const z = samples[samples.length - 1] as MetricsSample;
  const wholeRate = busyRate(a, z);
  return {
    utilization: exact ?? sampledUtilization,
    details: {
      method: exact === null ? 'sampled-gauge' : 'busy-counter',
      sampledUtilization,
      maxNumSeqs: o.maxNumSeqs,
      steadySeconds: steady.span,
      steadyFrom: a.t,
      steadyTo: b.t,
      tokenUtilization:
        o.tokensPerSecond === null
          ? null
          : (b.generationTokens - a.generationTokens) / (o.maxNumSeqs * o.tokensPerSecond * steady.span),
      wholeRunUtilization: wholeRate === null ? whole.busy / (o.maxNumSeqs * whole.span) : wholeRate / o.maxNumSeqs,
      clientUtilization: clientBusy(inFlight, a.t, b.t, o.maxNumSeqs) / (o.maxNumSeqs * steady.span),
      meanRunning: steadyRate ?? steady.busy / steady.span,
      meanWaiting: steady.waiting / steady.span,
      samples: end - started + 1,
    },
  };
}

/** ∫ min(inFlight, cap) dt over [from, to] of a step function given by its change events. */
export function clientBusy(events: readonly InFlightEvent[], from: number, to: number, cap: number): number {
  let busy = 0;
  let level = 0;
  let at = from;
  for (const e of events) {
    if (e.t > to) break;
    if (e.t > from) {
      busy += Math.min(level, cap) * (e.t - at);
      at = e.t;
    }
    level = e.inFlight;
  }
  return busy + Math.min(level, cap) * (to - at);
}
