const brand = Symbol.for('deepconf-safety.RunnerError');

/** Root of every error this package throws. */
export class RunnerError extends Error {
  readonly [brand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Settings that cannot make a DeepConf run (names the option and says what to do). */
export class RunnerConfigError extends RunnerError {
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

/** The run was stopped from outside (Ctrl+C / AbortSignal); finished work is on disk and `--resume` continues it. */
export class RunInterruptedError extends RunnerError {
  constructor() {
    super('the run was interrupted; finished prompts are saved, add --resume to continue');
  }
}

/** The server refused every request in a way retrying cannot fix (bad key, unknown model, or a long run of failures). */
export class ServerFailureError extends RunnerError {}

/** A trace thread of ThreadedTraceSource failed to start or died; its traces fail with this (retried elsewhere). */
export class TraceThreadError extends RunnerError {}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isRunnerError(value: unknown): value is RunnerError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** Replaces every occurrence of each secret (API keys) by `***`, for messages that may echo a request. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, s) => (s.length > 0 ? t.split(s).join('***') : t), text);
}
