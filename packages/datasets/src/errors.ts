const brand = Symbol.for('deepconf-safety.DatasetError');

/** Root of every error this package throws. */
export class DatasetError extends Error {
  readonly [brand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The hub refused the request (401 no/invalid token, 403 gated or not authorised).
 * `fix` is the exact thing the user has to do; it is also part of the message.
 */
export class DatasetAccessError extends DatasetError {
  constructor(
    readonly dataset: string,
    readonly status: number,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`cannot read ${dataset} (HTTP ${status}): ${reason}. Fix: ${fix}`);
  }
}

/**
 * A file does not have the expected shape. `line` is 1-based (CSV/JSONL line or parquet row
 * number); null when the problem is the file as a whole (e.g. a missing column). `byteOffset` is
 * set when the problem is at a byte (an invalid UTF-8 sequence).
 */
export class DatasetFormatError extends DatasetError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly field: string | null,
    readonly detail: string,
    readonly byteOffset: number | null = null,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}${field === null ? '' : ` (field "${field}")`}: ${detail}`);
  }
}

/** A benchmark name, config, split, file or hub path that does not exist. */
export class DatasetNotFoundError extends DatasetError {}

/**
 * Network failure, unexpected HTTP status or size mismatch while downloading. `network` is true when no HTTP answer
 * came at all (offline, DNS, refused): the message then says how to proceed without the network.
 */
export class DatasetDownloadError extends DatasetError {
  readonly network: boolean;
  constructor(
    readonly url: string,
    detail: string,
    options?: { cause?: unknown; network?: boolean },
  ) {
    super(`download of ${url} failed: ${detail}`, options);
    this.network = options?.network ?? false;
  }
}

/** Options that cannot work together or are out of range (e.g. a negative sample size). */
export class DatasetOptionError extends DatasetError {}

/** Works across realms and duplicate installs, unlike instanceof. */
export function isDatasetError(value: unknown): value is DatasetError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
