import type { ServerResponse } from 'node:http';
import type { Engine, EngineJob } from './engine.js';
import { combine } from './prng.js';
import * as R from './render.js';

/** A parsed, validated generation request. */
export interface GenerationRequest {
  readonly kind: 'chat' | 'completions';
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly promptTokens: number;
  readonly choices: readonly R.ChoiceTrace[];
}

/** Per-request faults the job applies while generating. */
export interface JobFaults {
  readonly cutStreamAfterTokens: number | null;
  readonly errorEventAfterTokens: number | null;
  readonly slowFactor: number;
}

export interface JobStats {
  tokensAfterDisconnect: number;
  cutStreams: number;
}

/** One HTTP generation request being served: writes SSE (or one JSON body at the end). */
export class GenerationJob implements EngineJob {
  readonly seqs: number;
  readonly slowFactor: number;
  private readonly pos: number[];
  private readonly textOffset: number[];
  /** Per choice: tokens whose text has been sent (behind `pos` when text lags). */
  private readonly textPos: number[];
  private closed = false;
  private paused = false;
  private done = false;
  private failed = false;
  private started = false;
  private tokens = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly req: GenerationRequest,
    private readonly ctx: R.RenderContext,
    private readonly faults: JobFaults,
    private readonly engine: Engine,
    private readonly stats: JobStats,
    private readonly maxTokensPerChunk: number,
    private readonly textLagTokens: number,
    private readonly log: ((line: string) => void) | null = null,
  ) {
    this.seqs = req.choices.length;
    this.slowFactor = faults.slowFactor;
    this.pos = req.choices.map(() => 0);
    this.textOffset = req.choices.map(() => 0);
    this.textPos = req.choices.map(() => 0);
    // 'close' fires when the client disconnects (or after we end): either way stop generating.
    res.on('close', () => {
      this.closed = true;
      engine.kick();
    });
  }

  isClosed(): boolean {
    return this.closed || this.res.destroyed;
  }
  isPaused(): boolean {
    return this.paused;
  }
  isDone(): boolean {
    return this.done;
  }
  isFailed(): boolean {
    return this.failed;
  }
  abort(): void {
    this.done = true;
  }
  tokensAfterAbort(lag: number): number {
    let extra = 0;
    this.req.choices.forEach((c, i) => {
      const from = this.pos[i] as number;
      const more = Math.max(0, Math.min(lag, c.plan.tokens.length - from));
      this.pos[i] = from + more;
      extra += more;
    });
    this.stats.tokensAfterDisconnect += extra;
    return extra;
  }
  fail(error: unknown): void {
    this.done = true;
    this.failed = true;
    this.log?.(
      `internal error while generating: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    // Headers (and maybe tokens) are out: a cut connection is the honest signal, as a crashed vLLM would give.
    this.res.destroy();
  }

  private chunkSize(choice: R.ChoiceTrace, pos: number): number {
    if (this.maxTokensPerChunk === 1) return 1;
    return 1 + (combine(choice.traceSeed ^ 0x6c6b, pos) % this.maxTokensPerChunk);
  }

  step(steps: number, merge: boolean): number {
    if (this.done) return 0;
    const { choices } = this.req;
    const stream = this.req.stream;
    let out = '';
    if (!this.started) {
      this.started = true;
      if (stream && this.req.kind === 'chat') for (const c of choices) out += R.chatRoleChunk(this.ctx, c.index);
    }
    let generated = 0;
    let unfinished = 0;
    for (let s = 0; s < steps; s++) {
      unfinished = 0;
      for (let ci = 0; ci < choices.length; ci++) {
        const c = choices[ci] as R.ChoiceTrace;
        const from = this.pos[ci] as number;
        const len = c.plan.tokens.length;
        if (from >= len) continue;
        // Checked before every token: a disconnect seen here stops generation at once.
        if (this.isClosed()) return generated;
        let size = merge ? Math.min(steps - s, 16) : this.chunkSize(c, from);
        size = Math.min(size, len - from);
        const to = from + size;
        const last = to === len;
        if (stream) {
          const tf = this.textPos[ci] as number;
          const tt = last ? to : Math.max(tf, to - this.textLagTokens);
          this.textPos[ci] = tt;
          if (this.req.kind === 'chat') out += R.chatTokenChunk(this.ctx, c, from, to, last, tf, tt);
          else {
            out += R.completionTokenChunk(this.ctx, c, from, to, last, this.textOffset[ci] as number, tf, tt);
            this.textOffset[ci] = (this.textOffset[ci] as number) + R.visibleLength(c, tf, tt);
          }
        }
        if (this.res.destroyed) this.stats.tokensAfterDisconnect += size;
        this.pos[ci] = to;
        generated += size;
        this.tokens += size;
        if (!last) unfinished++;
        const fault = this.checkFaults(out);
        if (fault) return generated;
      }
      if (merge) s += Math.min(steps - s, 16) - 1;
      if (unfinished === 0) break;
    }
    if (unfinished === 0 && this.pos.every((p, i) => p >= (choices[i] as R.ChoiceTrace).plan.tokens.length)) {
      this.finish(out);
    } else if (out !== '') {
      if (!this.res.write(out)) {
        this.paused = true;
        this.res.once('drain', () => {
          this.paused = false;
          this.engine.kick();
        });
      }
    }
    return generated;
  }

  private checkFaults(out: string): boolean {
    const { cutStreamAfterTokens: cut, errorEventAfterTokens: errAt } = this.faults;
    if (cut !== null && this.tokens >= cut) {
      this.stats.cutStreams++;
      this.done = true;
      this.failed = true;
      // Flush what was produced, then drop the connection without [DONE].
      this.res.write(out, () => this.res.destroy());
      return true;
    }
    if (errAt !== null && this.tokens >= errAt && this.req.stream) {
      this.done = true;
      this.failed = true;
      this.res.end(
        `${out}${R.errorEvent('Internal server error while generating (emulated fault)', 'InternalServerError', null, 500)}${R.DONE}`,
      );
      return true;
    }
    return false;
  }

  private finish(out: string): void {
    this.done = true;
    const counts = this.engine.counters.finishedByReason;
    for (const c of this.req.choices) counts[c.plan.finishReason]++;
    if (!this.req.stream) {
      const body =
        this.req.kind === 'chat'
          ? R.chatResponse(this.ctx, this.req.choices, this.req.promptTokens)
          : R.completionResponse(this.ctx, this.req.choices, this.req.promptTokens);
      this.res.writeHead(200, { 'content-type': 'application/json' });
      this.res.end(body);
      return;
    }
    let tail = out;
    if (this.req.includeUsage) {
      const completion = this.req.choices.reduce((sum, c) => sum + c.plan.tokens.length, 0);
      tail += R.usageChunk(
        this.ctx,
        this.req.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
        this.req.promptTokens,
        completion,
      );
    }
    this.res.end(tail + R.DONE);
  }
}
