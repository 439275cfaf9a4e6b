import { RunnerError } from '../errors.js';

/** A study file (or its flags) is wrong; `key` names the offending key, e.g. "settings.low.keep-percent". */
export class StudyConfigError extends RunnerError {
  readonly code = 'study_config';
  constructor(
    readonly file: string,
    readonly key: string,
    detail: string,
  ) {
    super(`${file}: ${key} ${detail}`);
  }
}

/** No endpoint asked serves a model of the study (found before any cell starts). */
export class StudyEndpointError extends RunnerError {
  readonly code = 'study_endpoint';
}

/** study.json disagrees with the study asked for, or a finished cell's results changed since. */
export class StudyStateError extends RunnerError {
  readonly code = 'study_state';
}
