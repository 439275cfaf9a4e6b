const BRAND = Symbol.for('deepconf-safety.BenchError');

/** Root of the benchmark's errors. */
export class BenchError extends Error {
  readonly [BRAND] = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad command-line flag; the message names the flag and what to pass instead. */
export class BenchOptionError extends BenchError {}

/** A benchmark that could not produce a figure (a stage failed or measured nothing). */
export class BenchMeasurementError extends BenchError {}

export function isBenchError(error: unknown): error is BenchError {
  return typeof error === 'object' && error !== null && (error as { [BRAND]?: unknown })[BRAND] === true;
}
