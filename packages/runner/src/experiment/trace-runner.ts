import type { detectRefusal as defaultDetectRefusal } from '@deepconf-safety/refusal';
import type { TraceRecord } from '@deepconf-safety/run-store';
import { isVllmClientError, type VllmErrorCode } from '@deepconf-safety/vllm-client';
import type { Phase } from '@deepconf-safety/confidence';
import { ServerFailureError, redactSecrets } from '../errors.js';
import type { TraceJudge } from '../judge/trace-judge.js';
import type { TraceResult, TraceSource } from '../trace-source.js';
import type { RunControl } from './run-control.js';
import type { InstanceInput, RunSettings } from './settings.js';
import { type TraceSlot, answeredTraceRecord, failedTraceRecord, traceRequest } from './trace-records.js';

/** Client error codes no other trace can get past: the run stops at once. */
const FATAL_CODES: ReadonlySet<VllmErrorCode> = new Set<VllmErrorCode>(['auth', 'model_not_found']);

export interface TraceRunnerOptions {
  settings: RunSettings;
  source: TraceSource;
  control: RunControl;
  detectRefusal: typeof defaultDetectRefusal;
  judge: TraceJudge | undefined;
  /** Requests per trace, the source's retries included. */
  maxAttempts: number;
  /** Give up on the run after this many traces in a row failed every attempt. */
  maxConsecutiveErrors: number;
  secrets: readonly string[];
}

/** The message an error trace records: the client's code when it has one, secrets redacted. */
function errorMessage(error: unknown, secrets: readonly string[]): string {
  const client = isVllmClientError(error) ? error : null;
  return redactSecrets(
    client !== null
      ? `${client.code}: ${client.message}`
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error),
    secrets,
  );
}

/** Runs one trace (the source streams, stops and retries it), labels and judges it, and returns its record. */
export class TraceRunner {
  #consecutiveErrors = 0;

  constructor(private readonly o: TraceRunnerOptions) {}

  /** Its record; an error record when its last attempt failed (a fatal error or a run of failures throws). */
  async run(
    inst: InstanceInput,
    traceIndex: number,
    phase: Phase,
    streamThreshold: number | null,
  ): Promise<TraceRecord> {
    const { settings, control } = this.o;
    const slot: TraceSlot = { instanceId: inst.id, traceIndex, phase, threshold: streamThreshold };
    const request = traceRequest(inst, settings, traceIndex);
    control.checkAborted();
    let result: TraceResult;
    try {
      // The one stop path and the one retry loop are the source's: the client applies the rule per token and retries
      // what a new request may cure, at most maxAttempts requests in all.
      result = await this.o.source.runTrace(request, {
        stopRule: { window: settings.window, threshold: streamThreshold },
        maxRetries: this.o.maxAttempts - 1,
        signal: control.signal,
      });
    } catch (error) {
      return this.#failed(slot, error);
    }
    this.#consecutiveErrors = 0;
    const refusal = this.o.detectRefusal(result.text, {
      truncated: result.stopReason !== 'finished',
      prompt: inst.prompt,
    });
    const judged = await this.o.judge
      ?.judgeTrace(
        { instanceId: inst.id, traceIndex, prompt: inst.prompt, text: result.text, detector: refusal },
        control.signal,
      )
      .catch((error: unknown) => {
        control.checkAborted();
        throw error;
      });
    return answeredTraceRecord(slot, result, settings.window, refusal, judged);
  }

  #failed(slot: TraceSlot, error: unknown): TraceRecord {
    this.o.control.checkAborted();
    const message = errorMessage(error, this.o.secrets);
    const client = isVllmClientError(error) ? error : null;
    if (client !== null && FATAL_CODES.has(client.code)) {
      throw new ServerFailureError(
        `the server refused the request (${message}); fix the endpoint, model or API key and rerun with --resume`,
      );
    }
    this.#consecutiveErrors++;
    if (this.#consecutiveErrors >= this.o.maxConsecutiveErrors) {
      throw new ServerFailureError(
        `${this.#consecutiveErrors} traces in a row failed every attempt (last: ${message}); check the server, then redo them with --resume --retry-errors`,
      );
    }
    return failedTraceRecord(slot, message, client?.attempts ?? 1);
  }
}
