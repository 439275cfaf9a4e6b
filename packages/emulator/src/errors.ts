const brand = Symbol.for('deepconf-safety.EmulatorError');

/** Root of every error this package throws. */
export class EmulatorError extends Error {
  readonly [brand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option is out of range or options cannot work together; `option` names it. */
export class EmulatorOptionError extends EmulatorError {
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`emulator option "${option}": ${detail}`);
  }
}

/** The HTTP server could not listen (port in use, permission, bad host). */
export class EmulatorListenError extends EmulatorError {
  constructor(
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`emulator could not listen on ${host}:${port}${cause}. Pick another --port (0 = any free port).`, options);
  }
}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isEmulatorError(value: unknown): value is EmulatorError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
