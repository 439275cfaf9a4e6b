import { RunnerError } from '../errors.js';

/** A recorded run that cannot be replayed as asked (names the file, field or flag and says what to do). */
export class ReplayInputError extends RunnerError {}
