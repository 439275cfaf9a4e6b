import type { ServerResponse } from 'node:http';
import { Engine } from './engine.js';
import type { JobStats } from './job.js';
import { renderMetrics } from './metrics.js';
import type { FaultHook, FaultOptions, ResolvedOptions } from './options.js';
import { combine, hashString } from './prng.js';
import type { RequestRejection } from './request.js';

/** What /v1/models, stats() and /metrics report; see EmulatorHandle.stats(). */
export interface EmulatorStats {
  /** Generation requests received (chat + completions), including rejected ones. */
  readonly requests: number;
  /** Sequences in the running batch now. */
  readonly activeSequences: number;
  /** Requests waiting for a batch slot. */
  readonly queuedRequests: number;
  readonly completedRequests: number;
  /** Requests dropped because the client disconnected before the end. */
  readonly abortedRequests: number;
  /** Requests ended by an injected mid-stream fault (cut stream, in-band error event). */
  readonly failedRequests: number;
  /** Requests answered with an error status (4xx/5xx, injected faults included). */
  readonly rejectedRequests: number;
  readonly tokensGenerated: number;
  /** Tokens produced after the client had disconnected (should stay 0: generation stops before the next token). */
  readonly tokensAfterDisconnect: number;
  /** Streams cut by the cutStreamAfterTokens fault. */
  readonly cutStreams: number;
  /** ∫ activeSequences dt; utilisation = busySeqSeconds / (maxNumSeqs × wall seconds). */
  readonly busySeqSeconds: number;
  readonly peakActiveSequences: number;
  /** Most requests ever waiting for a batch slot at once. */
  readonly peakQueuedRequests: number;
  /** Requests in a known judge format, answered by the emulated judge (counted in `requests` too). */
  readonly judgeRequests: number;
}

export function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

/** vLLM ≥0.10.1 error envelope, compact as Starlette's JSONResponse. */
function errorBody(r: RequestRejection): string {
  return JSON.stringify({ error: { message: r.message, type: r.type, param: r.param, code: r.status } });
}

/** The emulator's mutable state: the engine, the counters, the faults in force and the trace-key counters. */
export class EmulatorState {
  readonly engine: Engine;
  readonly jobStats: JobStats = { tokensAfterDisconnect: 0, cutStreams: 0 };
  requests = 0;
  judgeRequests = 0;
  rejected = 0;
  promptTokensTotal = 0;
  /** Seconds since the epoch when the server started (model cards' `created`). */
  readonly created = Math.floor(Date.now() / 1000);
  private readonly traceCounters = new Map<number, number>();

  constructor(
    readonly opts: ResolvedOptions,
    public faults: FaultOptions | FaultHook | undefined,
  ) {
    this.engine = new Engine({
      maxNumSeqs: opts.maxNumSeqs,
      ttftMs: () => opts.ttftMs,
      tokensPerSecond: () => opts.tokensPerSecond,
      now: opts.now,
      abortLagTokens: opts.abortLagTokens,
    });
  }

  /** The static faults (a hook's decisions are per request). */
  staticFaults(): FaultOptions {
    return typeof this.faults === 'object' ? this.faults : {};
  }

  reject(res: ServerResponse, r: RequestRejection): void {
    this.rejected++;
    sendJson(res, r.status, errorBody(r));
  }

  /** Trace key: the request seed (+ choice index, as vLLM's parallel sampling does), else a per-prompt counter. */
  traceSeed(promptHash: number, seed: number | null | undefined, choice: number): number {
    let key: number;
    if (seed !== null && seed !== undefined) key = hashString(String(seed + choice), 0x5eed);
    else {
      const next = this.traceCounters.get(promptHash) ?? 0;
      if (this.traceCounters.size > 100_000) this.traceCounters.clear();
      this.traceCounters.set(promptHash, next + 1);
      key = hashString(`#${next}`, 0xc0de);
    }
    const s = this.opts.seed;
    return combine(combine(s >>> 0, Math.floor(s / 4294967296)), combine(promptHash, key));
  }

  stats(): EmulatorStats {
    const e = this.engine.snapshot();
    return {
      requests: this.requests,
      activeSequences: e.activeSequences,
      queuedRequests: e.queuedRequests,
      completedRequests: e.completedRequests,
      abortedRequests: e.abortedRequests,
      failedRequests: this.engine.counters.failedRequests,
      rejectedRequests: this.rejected,
      tokensGenerated: e.tokensGenerated,
      tokensAfterDisconnect: this.jobStats.tokensAfterDisconnect,
      cutStreams: this.jobStats.cutStreams,
      busySeqSeconds: e.busySeqSeconds,
      peakActiveSequences: e.peakActiveSequences,
      peakQueuedRequests: e.peakQueuedRequests,
      judgeRequests: this.judgeRequests,
    };
  }

  metrics(): string {
    const e = this.engine.snapshot();
    return renderMetrics({
      model: this.opts.model,
      running: e.activeSequences,
      waiting: e.queuedRequests,
      maxNumSeqs: this.opts.maxNumSeqs,
      promptTokens: this.promptTokensTotal,
      generationTokens: e.tokensGenerated,
      finished: this.engine.counters.finishedByReason,
      tokensAfterDisconnect: this.jobStats.tokensAfterDisconnect,
      busySeqSeconds: e.busySeqSeconds,
      uptimeSeconds: e.uptimeSeconds,
    });
  }
}
