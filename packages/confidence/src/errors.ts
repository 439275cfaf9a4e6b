const BRAND = Symbol.for('@deepconf-safety/confidence/ConfidenceError');

/** Root of every error thrown by `@deepconf-safety/confidence`. */
export class ConfidenceError extends Error {
  readonly [BRAND] = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option (window, percentage, tau, k) is out of range. `argument` names it. */
export class InvalidArgumentError extends ConfidenceError {
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super(`${argument}: ${detail}`);
  }
}

/** One element of an input list is unusable (NaN, negative weight, ...). `index` is its 0-based position. */
export class InvalidValueError extends ConfidenceError {
  constructor(
    readonly argument: string,
    readonly index: number,
    detail: string,
  ) {
    super(`${argument}[${index}]: ${detail}`);
  }
}

/** A list that must not be empty is empty (a logprob position, the warmup set). */
export class EmptyInputError extends ConfidenceError {
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super(`${argument} is empty: ${detail}`);
  }
}

/** Two parallel lists (answers and weights) differ in length. */
export class LengthMismatchError extends ConfidenceError {
  constructor(
    readonly first: string,
    readonly firstLength: number,
    readonly second: string,
    readonly secondLength: number,
  ) {
    super(
      `${first} has ${firstLength} items but ${second} has ${secondLength}; pass one ${second.replace(/s$/, '')} per ${first.replace(/s$/, '')}`,
    );
  }
}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isConfidenceError(value: unknown): value is ConfidenceError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
