const brand = Symbol.for('deepconf-safety.RunStoreError');

/** Root of every error this package throws. */
export class RunStoreError extends Error {
  readonly [brand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file in the run store does not match its schema: names the file and line. */
export class RunStoreFormatError extends RunStoreError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${detail}`);
  }
}

/** `--resume` against a run whose recorded config differs from the one given. */
export class ConfigMismatchError extends RunStoreError {
  constructor(
    readonly dir: string,
    readonly recordedHash: string,
    readonly givenHash: string,
    readonly differences: string[],
  ) {
    super(
      `cannot resume ${dir}: it was started with a different configuration (${differences.join('; ')}). ` +
        'Resume with the original options, or choose a new --output directory.',
    );
  }
}

/** Another live process writes this run directory (its pid, when the lock names one). */
export class RunLockedError extends RunStoreError {
  constructor(
    readonly dir: string,
    readonly pid: number | null,
    detail: string | null,
  ) {
    super(
      `${dir} is being written by another process${pid === null ? '' : ` (pid ${pid})`}${detail === null ? '' : ` ${detail}`}; ` +
        'wait for it to finish (or stop it), or choose another --output directory',
    );
  }
}

/** The run directory cannot be used: a file, a virtual file system, or not writable. Names the path and why. */
export class RunDirectoryError extends RunStoreError {
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`${dir}: ${reason}`);
  }
}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isRunStoreError(value: unknown): value is RunStoreError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
