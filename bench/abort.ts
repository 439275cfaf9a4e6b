// Abort latency (issue 9 §2): tokens the server generates after the client decided to stop. The emulator decodes
// at a realistic per-sequence speed; one trace at a time, so the difference of vLLM's generation_tokens_total
// before and after a trace is exactly that trace's tokens.
import { VllmClient } from '@deepconf-safety/vllm-client';
import type { InstanceInput } from '@deepconf-safety/runner';
import { BenchMeasurementError } from './errors.js';
import type { EmulatorProcess } from './emulator-process.js';
import type { EmulatorMetrics } from './metrics.js';
import { traceRequest } from './prompts.js';
import { median, percentileRank } from './stats.js';

export type AbortOptions = {
  trials: number;
  /** The client stops at a token index drawn from [minStop, maxStop] (seeded, so runs are comparable). */
  minStop: number;
  maxStop: number;
  /** Per-sequence decode speed the emulator was started with (for the report only). */
  tokensPerSecond: number;
  /** Give up waiting for the server to go idle after a trace (ms). */
  settleTimeoutMs?: number;
};

export type AbortResult = {
  medianTokensAfterStop: number;
  p99TokensAfterStop: number;
  details: {
    trials: number;
    /** Traces that ended on their own before the chosen stop token (not counted). */
    endedBeforeStop: number;
    tokensPerSecond: number;
    maxTokensAfterStop: number;
    meanTokensAfterStop: number;
    /** How many trials had 0, 1, 2, … tokens after the stop. */
    histogram: Record<string, number>;
    /**
     * Of the tokens after the stop, those the emulator generated after it had seen the socket close
     * (deepconf_emulator_tokens_after_disconnect_total; null on a real vLLM). 0 means every token after the stop
     * was made while the disconnect was still on its way (client reaction + network + the server's event loop).
     */
    serverTokensAfterDisconnect: number | null;
  };
};

async function idle(emu: EmulatorProcess, timeoutMs: number): Promise<EmulatorMetrics> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const m = await emu.metrics();
    if (m.running === 0 && m.waiting === 0) return m;
    if (performance.now() > deadline)
      throw new BenchMeasurementError(
        `the emulator still ran ${m.running} sequences ${timeoutMs} ms after the client stopped: it did not notice the disconnect`,
      );
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs `trials` traces one after another, each stopped by the client at a chosen token. */
export async function measureAbort(
  emu: EmulatorProcess,
  prompts: readonly InstanceInput[],
  o: AbortOptions,
): Promise<AbortResult> {
  const client = new VllmClient({ baseURLs: [emu.baseURL], model: emu.model, env: {} });
  const settle = o.settleTimeoutMs ?? 10_000;
  const after: number[] = [];
  let endedBeforeStop = 0;
  let before = await idle(emu, settle);
  const first = before;
  let rng = 0x9e3779b9;
  const next = () => (rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < o.trials; i++) {
    const stopAt = o.minStop + Math.floor(next() * (o.maxStop - o.minStop + 1));
    const res = await client.runTrace(traceRequest(prompts, 50_000 + i), { onToken: (t) => t.index >= stopAt });
    const now = await idle(emu, settle);
    const generated = now.generationTokens - before.generationTokens;
    before = now;
    if (res.stoppedAt === null) {
      endedBeforeStop++;
      continue;
    }
    // The stop token itself was generated before the decision; everything past it came after.
    after.push(generated - (res.stoppedAt + 1));
  }
  if (after.length === 0)
    throw new BenchMeasurementError(`abort: none of ${o.trials} traces reached its stop token; lower the stop range`);
  if (after.some((x) => x < 0))
    throw new BenchMeasurementError(
      `abort: the server counted fewer tokens than the client received (${Math.min(...after)}); is another client using this emulator?`,
    );
  const histogram: Record<string, number> = {};
  for (const x of after) histogram[String(x)] = (histogram[String(x)] ?? 0) + 1;
  return {
    medianTokensAfterStop: median(after, 'tokens after stop'),
    p99TokensAfterStop: percentileRank(after, 99, 'tokens after stop'),
    details: {
      trials: after.length,
      endedBeforeStop,
      tokensPerSecond: o.tokensPerSecond,
      maxTokensAfterStop: Math.max(...after),
      meanTokensAfterStop: after.reduce((a, b) => a + b, 0) / after.length,
      histogram,
      serverTokensAfterDisconnect:
        first.emulator === null || before.emulator === null
          ? null
          : before.emulator.tokensAfterDisconnect - first.emulator.tokensAfterDisconnect,
    },
  };
}
