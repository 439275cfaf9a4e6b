const BRAND = Symbol.for('@deepconf-safety/refusal/RefusalError');

/** Root of every error thrown by `@deepconf-safety/refusal`. */
export class RefusalError extends Error {
  readonly [BRAND] = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A caller passed something the detector cannot score (wrong type, bad option). */
export class InvalidInputError extends RefusalError {}

/** The judge's raw answer could not be mapped to a label. Carries the (truncated) answer for debugging. */
export class JudgeParseError extends RefusalError {
  constructor(
    message: string,
    readonly rawAnswer: string,
  ) {
    super(message);
  }
}

/** The injected `complete` function of a judge failed. */
export class JudgeCallError extends RefusalError {}

/** A labelled evaluation file is missing, unreadable or has bad rows. */
export class EvaluationFileError extends RefusalError {
  constructor(
    message: string,
    readonly file: string,
    readonly row: number | null = null,
  ) {
    super(message);
  }
}

/** Brand check that works across duplicated module instances (instanceof does not). */
export function isRefusalError(value: unknown): value is RefusalError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
