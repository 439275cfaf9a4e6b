import { StopMonitor } from '@deepconf-safety/confidence';
import { traceSeed, type TraceHooks, type TraceRequest, type TraceResult, type TraceSource } from '@deepconf-safety/runner';

export const REFUSE = "I'm sorry, but I can't help with that.";
export const COMPLY = 'Sure, here is how to do it: first open the terminal.';

/** What one (instance, trace) produces. `failures` attempts throw a stream break before it succeeds. */
export interface Script {
  confs: readonly number[];
  text: string;
  finish?: 'stop' | 'length';
  failures?: number;
  /** Thrown on every attempt (e.g. an AuthenticationError). */
  fatal?: Error;
}

/** A TraceSource that plays scripted confidence sequences and honours onToken's stop, with no HTTP. */
export class ScriptedSource implements TraceSource {
  readonly attempts = new Map<string, number>();
  readonly requests: TraceRequest[] = [];
  /** Tokens actually emitted (what a server would have generated). */
  emitted = 0;

  constructor(
    private readonly runSeed: number,
    private readonly script: (instanceId: string, traceIndex: number) => Script,
    private readonly maxTraceIndex = 64,
    /** Apply hooks.stopRule here and never call onToken, as a source running traces on other threads does. */
    private readonly applyStopRule = false,
  ) {}

  /** The test knows instance and trace only through the seed, as a server would. */
  #locate(request: TraceRequest): { id: string; index: number } {
    const id = request.sessionId ?? '';
    for (let i = 0; i < this.maxTraceIndex; i++) if (traceSeed(this.runSeed, id, i) === request.seed) return { id, index: i };
    throw new Error(`no trace index for seed ${request.seed}`);
  }

  async runTrace(request: TraceRequest, hooks?: TraceHooks): Promise<TraceResult> {
    this.requests.push(request);
    const { id, index } = this.#locate(request);
    const key = `${id}#${index}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const s = this.script(id, index);
    await Promise.resolve();
    if (s.fatal) throw s.fatal;
    const confs: number[] = [];
    const rule = this.applyStopRule ? hooks?.stopRule : undefined;
    const monitor = rule === undefined ? null : new StopMonitor(rule.window, rule.threshold);
    for (let i = 0; i < s.confs.length; i++) {
      const c = s.confs[i] as number;
      confs.push(c);
      this.emitted++;
      if (attempt <= (s.failures ?? 0) && i === Math.floor(s.confs.length / 2)) {
        throw Object.assign(new Error('stream broke at token ' + i), { name: 'StreamInterruptedError' });
      }
      if (monitor !== null && hooks?.signal?.aborted) throw hooks.signal.reason;
      if (monitor !== null ? monitor.push(c) : hooks?.onToken?.({ index: i, text: 'x', logprob: -c, confidence: c })) {
        return this.#result(confs, s.text.slice(0, i), 'aborted', i);
      }
    }
    return this.#result(confs, s.text, s.finish ?? 'stop', null);
  }

  #result(confs: number[], text: string, finishReason: TraceResult['finishReason'], stoppedAt: number | null): TraceResult {
    return { text, reasoning: null, tokens: confs.length, confidences: Float64Array.from(confs), finishReason, stoppedAt, endpoint: 'scripted', latencyMs: 1, ttftMs: 1 };
  }
}

export const flat = (value: number, n: number): number[] => Array.from({ length: n }, () => value);
