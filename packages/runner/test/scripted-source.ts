import { StopMonitor } from '@deepconf-safety/confidence';
import { VllmClientError } from '@deepconf-safety/vllm-client';
import {
  traceSeed,
  type TraceHooks,
  type TraceRequest,
  type TraceResult,
  type TraceSource,
} from '@deepconf-safety/runner';

export const REFUSE = "I'm sorry, but I can't help with that.";
export const COMPLY = 'Sure, here is how to do it: first open the terminal.';

/** What one (instance, trace) produces. `failures` attempts throw a stream break before it succeeds. */
export interface Script {
  confs: readonly number[];
  text: string;
  finish?: 'stop' | 'length';
  failures?: number;
  /** Thrown on every attempt (e.g. a VllmClientError with code 'auth'). */
  fatal?: Error;
}

/**
 * A TraceSource that plays scripted confidence sequences with no HTTP, and does what VllmClient does: applies
 * hooks.stopRule per token and retries a broken stream up to hooks.maxRetries times (a fatal error is not retried).
 */
export class ScriptedSource implements TraceSource {
  /** Requests per trace ("id#index"), as a server would count them. */
  readonly attempts = new Map<string, number>();
  readonly requests: TraceRequest[] = [];
  /** Tokens actually emitted (what a server would have generated). */
  emitted = 0;

  constructor(
    private readonly runSeed: number,
    private readonly script: (instanceId: string, traceIndex: number) => Script,
    private readonly maxTraceIndex = 64,
  ) {}

  /** The test knows instance and trace only through the seed, as a server would. */
  #locate(request: TraceRequest): { id: string; index: number } {
    const id = request.sessionId ?? '';
    for (let i = 0; i < this.maxTraceIndex; i++)
      if (traceSeed(this.runSeed, id, i) === request.seed) return { id, index: i };
    throw new Error(`no trace index for seed ${request.seed}`);
  }

  async runTrace(request: TraceRequest, hooks?: TraceHooks): Promise<TraceResult> {
    const maxRetries = hooks?.maxRetries ?? 3;
    for (let attempt = 1; ; attempt++) {
      const r = await this.#attempt(request, hooks, attempt);
      if (r !== null) return r;
      if (attempt > maxRetries) {
        const err = new VllmClientError('connection', `connection reset by scripted mid-stream (${attempt} attempts)`);
        err.attempts = attempt;
        throw err;
      }
    }
  }

  /** One request: its result, or null when the script breaks this attempt's stream. */
  async #attempt(request: TraceRequest, hooks: TraceHooks | undefined, attempt: number): Promise<TraceResult | null> {
    this.requests.push(request);
    const { id, index } = this.#locate(request);
    const key = `${id}#${index}`;
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    const s = this.script(id, index);
    await Promise.resolve();
    if (hooks?.signal?.aborted) throw hooks.signal.reason;
    if (s.fatal) throw s.fatal;
    const confs: number[] = [];
    const rule = hooks?.stopRule;
    const monitor = rule === undefined ? null : new StopMonitor(rule.window, rule.threshold);
    for (let i = 0; i < s.confs.length; i++) {
      const c = s.confs[i] as number;
      confs.push(c);
      this.emitted++;
      if (attempt <= (s.failures ?? 0) && i === Math.floor(s.confs.length / 2)) return null;
      if (hooks?.signal?.aborted) throw hooks.signal.reason;
      if (monitor?.push(c)) return this.#result(confs, s.text.slice(0, i), 'early_stopped', i, attempt);
    }
    return this.#result(confs, s.text, s.finish === 'length' ? 'length' : 'finished', null, attempt);
  }

  #result(
    confs: number[],
    text: string,
    stopReason: TraceResult['stopReason'],
    stoppedAt: number | null,
    attempts: number,
  ): TraceResult {
    return {
      text,
      reasoning: null,
      tokens: confs.length,
      confidences: Float64Array.from(confs),
      stopReason,
      stoppedAt,
      endpoint: 'scripted',
      latencyMs: 1,
      ttftMs: 1,
      attempts,
    };
  }
}

export const flat = (value: number, n: number): number[] => Array.from({ length: n }, () => value);
