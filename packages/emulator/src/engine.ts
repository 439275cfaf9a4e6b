// The scheduler: like vLLM's, it runs at most maxNumSeqs sequences at once, queues the rest FIFO,
// and advances every running request by one decode step per tick. Disconnected requests are
// dropped before their next token, freeing their slots at once.

/** A request as the engine sees it. */
export interface EngineJob {
  /** Sequences this request occupies (its `n`). */
  readonly seqs: number;
  /** ≥ 1: this request's time to first token × factor, decode speed ÷ factor (the slowFactor fault). */
  readonly slowFactor: number;
  /** Client went away (or the job cut itself off): stop generating. */
  isClosed(): boolean;
  /** Waiting for the socket to drain (back-pressure from a slow reader). */
  isPaused(): boolean;
  isDone(): boolean;
  /** Ended by an injected fault (cut stream, error event) rather than by finishing. */
  isFailed(): boolean;
  /** Runs `steps` decode steps; `merge` = put them into one chunk per choice. Returns tokens generated. */
  step(steps: number, merge: boolean): number;
  /** Generates up to `lag` more tokens per sequence after a disconnect, unsent; returns how many. */
  tokensAfterAbort?(lag: number): number;
  /** The request was dropped (disconnect) before it finished. */
  abort(): void;
  /** Generation threw (an emulator bug): end this request, keep serving the others. */
  fail(error: unknown): void;
}

export interface EngineConfig {
  readonly maxNumSeqs: number;
  readonly ttftMs: () => number;
  readonly tokensPerSecond: () => number;
  readonly now: () => number;
  /** Tokens per sequence an aborted request still generates before the engine notices (vLLM's lag); default 0. */
  readonly abortLagTokens?: number;
}

interface Running {
  readonly job: EngineJob;
  readonly firstTokenAt: number;
  /** Decode speed of this request, tokens/s. */
  readonly tps: number;
  steps: number;
}

export interface EngineCounters {
  activeSequences: number;
  queuedRequests: number;
  completedRequests: number;
  abortedRequests: number;
  tokensGenerated: number;
  busySeqSeconds: number;
  /** Seconds since the engine started, on the clock busySeqSeconds is integrated with (same reading). */
  uptimeSeconds: number;
  peakActiveSequences: number;
  peakQueuedRequests: number;
}

/** Steps per tick per request when decode speed is unlimited: batching writes is what makes it fast. */
const UNLIMITED_BURST = 16;
/**
 * Most decode steps one sequence gets per tick when its timer fired late (event-loop stall). vLLM emits one
 * token per sequence per decode step; deltas merge only when the consumer lags. A large catch-up burst is
 * generated synchronously, so a disconnect cannot be seen inside it (the socket's 'close' needs an event-loop
 * turn) and every token of the burst would count past the client's stop. With 4, the rest of the backlog is
 * worked off on the following ticks (setImmediate, I/O runs between them), so the average speed still holds
 * while a stopped client costs at most a few tokens more than it would on a punctual server.
 */
export const MAX_CATCH_UP = 4;

export class Engine {
  private readonly running = new Map<EngineJob, Running>();
  private waiting: EngineJob[] = [];
  private runningSeqs = 0;
  private lastChange: number;
  private readonly startedAt: number;
  private busyMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private stopped = false;
  readonly counters = {
    completedRequests: 0,
    abortedRequests: 0,
    tokensGenerated: 0,
    peakActiveSequences: 0,
    peakQueuedRequests: 0,
    failedRequests: 0,
    finishedByReason: { stop: 0, length: 0, abort: 0 } as Record<'stop' | 'length' | 'abort', number>,
  };

  constructor(private readonly cfg: EngineConfig) {
    this.lastChange = cfg.now();
    this.startedAt = this.lastChange;
  }

  submit(job: EngineJob): void {
    this.waiting.push(job);
    this.admit();
    if (this.waiting.length > this.counters.peakQueuedRequests) this.counters.peakQueuedRequests = this.waiting.length;
    this.kick();
  }

  /** Something changed (disconnect, drain): run a tick soon. */
  kick(): void {
    if (this.stopped || this.immediate !== null) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.tick();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  snapshot(): EngineCounters {
    const now = this.cfg.now();
    return {
      activeSequences: this.runningSeqs,
      queuedRequests: this.waiting.length,
      completedRequests: this.counters.completedRequests,
      abortedRequests: this.counters.abortedRequests,
      tokensGenerated: this.counters.tokensGenerated,
      busySeqSeconds: (this.busyMs + this.runningSeqs * (now - this.lastChange)) / 1000,
      uptimeSeconds: (now - this.startedAt) / 1000,
      peakActiveSequences: this.counters.peakActiveSequences,
      peakQueuedRequests: this.counters.peakQueuedRequests,
    };
  }

  get runningRequests(): number {
    return this.running.size;
  }

  private setRunningSeqs(delta: number): void {
    const now = this.cfg.now();
    this.busyMs += this.runningSeqs * (now - this.lastChange);
    this.lastChange = now;
    this.runningSeqs += delta;
    if (this.runningSeqs > this.counters.peakActiveSequences) this.counters.peakActiveSequences = this.runningSeqs;
  }

  private admit(): void {
    // Abandoned requests anywhere in the queue leave it at once (stats and /metrics stay honest).
    if (this.waiting.some((j) => j.isClosed())) {
      this.waiting = this.waiting.filter((j) => {
        if (!j.isClosed()) return true;
        this.counters.abortedRequests++;
        this.counters.finishedByReason.abort++;
        j.abort();
        return false;
      });
    }
    while (this.waiting.length > 0) {
      const job = this.waiting[0] as EngineJob;
      if (job.isClosed()) {
        this.waiting.shift();
        this.counters.abortedRequests++;
        this.counters.finishedByReason.abort++;
        job.abort();
        continue;
      }
      // A request with n > maxNumSeqs still runs, alone, rather than waiting forever.
      if (this.runningSeqs > 0 && this.runningSeqs + job.seqs > this.cfg.maxNumSeqs) return;
      this.waiting.shift();
      const tps = this.cfg.tokensPerSecond() / job.slowFactor;
      this.running.set(job, { job, firstTokenAt: this.cfg.now() + this.cfg.ttftMs() * job.slowFactor, tps, steps: 0 });
      this.setRunningSeqs(job.seqs);
    }
  }

  private finish(r: Running, aborted: boolean): void {
    this.running.delete(r.job);
    this.setRunningSeqs(-r.job.seqs);
    if (aborted) {
      const lag = this.cfg.abortLagTokens ?? 0;
      if (lag > 0) this.counters.tokensGenerated += r.job.tokensAfterAbort?.(lag) ?? 0;
      this.counters.abortedRequests++;
      this.counters.finishedByReason.abort++;
      r.job.abort();
    } else if (r.job.isFailed()) this.counters.failedRequests++;
    else this.counters.completedRequests++;
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.cfg.now();
    const burst = Math.max(1, Math.min(UNLIMITED_BURST, Math.floor(4096 / Math.max(1, this.running.size))));
    for (const r of [...this.running.values()]) {
      const tps = r.tps;
      const unlimited = tps === Infinity;
      if (r.job.isClosed()) {
        if (!r.job.isDone()) this.finish(r, true);
        else this.finish(r, false);
        continue;
      }
      if (now < r.firstTokenAt || r.job.isPaused()) continue;
      const due = unlimited
        ? burst
        : Math.min(MAX_CATCH_UP, Math.floor(((now - r.firstTokenAt) * tps) / 1000) + 1 - r.steps);
      if (due <= 0) continue;
      r.steps += due;
      try {
        this.counters.tokensGenerated += r.job.step(due, !unlimited && due > 1);
      } catch (e) {
        r.job.fail(e);
      }
      if (r.job.isDone()) this.finish(r, false);
      else if (r.job.isClosed()) this.finish(r, true);
    }
    this.admit();
    this.schedule(now);
  }

  private schedule(now: number): void {
    if (this.running.size === 0) return;
    let next = Infinity;
    for (const r of this.running.values()) {
      if (r.job.isPaused()) continue; // 'drain' kicks us
      const due =
        now < r.firstTokenAt ? r.firstTokenAt : r.tps === Infinity ? now : r.firstTokenAt + (r.steps * 1000) / r.tps;
      if (due < next) next = due;
    }
    if (next === Infinity) return;
    const delay = next - now;
    if (delay <= 0) {
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        this.tick();
      });
    } else {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.tick();
        },
        Math.max(1, Math.ceil(delay)),
      );
    }
  }
}
