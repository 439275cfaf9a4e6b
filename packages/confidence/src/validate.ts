import { InvalidArgumentError } from './errors.js';

export function assertWindow(window: number, argument = 'window'): void {
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new InvalidArgumentError(argument, `must be a positive integer number of tokens, got ${String(window)}`);
  }
}

export function assertPercent(percent: number, argument: string): void {
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
    throw new InvalidArgumentError(
      argument,
      `must be a percentage between 0 and 100 (10 means 10 %), got ${String(percent)}`,
    );
  }
}
