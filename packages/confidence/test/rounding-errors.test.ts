import { describe, expect, test } from '@jest/globals';
import {
  ConfidenceError,
  EmptyInputError,
  InvalidArgumentError,
  InvalidValueError,
  LengthMismatchError,
  isConfidenceError,
  roundHalfEven3,
  tokenConfidence,
  traceConfidence,
} from '@deepconf-safety/confidence';
import { officialExtra } from './fixtures.js';

describe('roundHalfEven3', () => {
  test('numpy semantics, not Python decimal round', () => {
    expect(roundHalfEven3(0.1235)).toBe(0.124);
    expect(roundHalfEven3(12.3455)).toBe(12.346);
    expect(roundHalfEven3(0.0025)).toBe(0.002);
    expect(roundHalfEven3(0.0005)).toBe(0);
    expect(roundHalfEven3(-0.0025)).toBe(-0.002);
    expect(roundHalfEven3(Infinity)).toBe(Infinity);
    expect(roundHalfEven3(NaN)).toBeNaN();
  });

  test('equals numpy round(np.float64(x), 3) on the probe values', () => {
    for (const { x, numpy_round3 } of officialExtra.rounding_probe)
      expect([x, roundHalfEven3(x)]).toEqual([x, numpy_round3]);
  });
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('errors', () => {
  test('every error is a ConfidenceError with a brand check that survives realms', () => {
    const errors = [
      thrown(() => tokenConfidence([])),
      thrown(() => traceConfidence([1], { window: 0 })),
      thrown(() => traceConfidence([1], { window: 2, bottomPercent: 200 })),
    ];
    expect(errors[0]).toBeInstanceOf(EmptyInputError);
    expect(errors[1]).toBeInstanceOf(InvalidArgumentError);
    expect((errors[2] as InvalidArgumentError).argument).toBe('bottomPercent');
    for (const e of errors) {
      expect(e).toBeInstanceOf(ConfidenceError);
      expect(isConfidenceError(e)).toBe(true);
      expect((e as Error).name).toMatch(/Error$/);
    }
    expect(new InvalidValueError('weights', 3, 'bad').index).toBe(3);
    expect(new LengthMismatchError('answers', 1, 'weights', 2).message).toMatch(/one weight per answer/);
    expect(isConfidenceError(new Error('x'))).toBe(false);
    expect(isConfidenceError({ message: 'x' })).toBe(false);
    expect(isConfidenceError(null)).toBe(false);
  });
});

describe('traceConfidence options', () => {
  test('tail defaults to the window, bottomPercent to 10; both can be set', () => {
    const confs = [5, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12];
    const base = traceConfidence(confs, { window: 2 });
    expect(base.tail).toBe(11.5);
    expect(base.mean).toBe(78 / 12);
    expect(base.lowestGroup).toBe(1.5);
    expect(base.bottomPercent).toBe(1.5); // 11 windows * 10 % -> 1 window: the lowest
    const custom = traceConfidence(confs, { window: 2, tail: 4, bottomPercent: 30 });
    expect(custom.tail).toBe(10.5);
    expect(custom.bottomPercent).toBe((1.5 + 2.5 + 3) / 3); // 3 lowest windows
    expect(() => traceConfidence(confs, { window: 2, tail: 0 })).toThrow(/^tail:/);
  });
});
