const brand = Symbol.for('deepconf-safety.ReportingError');

/** Root of every error this package throws. */
export class ReportingError extends Error {
  readonly [brand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A statistic was asked of input it cannot be computed on (names the argument and what to pass instead). */
export class StatisticsInputError extends ReportingError {}

/** The run directory cannot be reported on (not a run, no instances yet, unreadable files). */
export class RunInputError extends ReportingError {
  constructor(
    readonly dir: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail.includes(dir) ? detail : `${dir}: ${detail}`, options);
  }
}

/** A figure could not be drawn or rasterised. */
export class FigureRenderError extends ReportingError {
  constructor(
    readonly figure: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`figure ${figure}: ${detail}`, options);
  }
}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isReportingError(value: unknown): value is ReportingError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
