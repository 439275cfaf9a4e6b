import { describe, expect, test } from '@jest/globals';
import { studyEtaSeconds } from '@deepconf-safety/runner';

describe('the study ETA', () => {
  test('is unknown before a cell finished', () => {
    expect(studyEtaSeconds({ finishedWalls: [], runningFor: [5, 5], left: 10, slots: 2 })).toBeNull();
  });

  test('one slot: the mean cell time for each cell left and the rest of the one running', () => {
    expect(studyEtaSeconds({ finishedWalls: [10, 20], runningFor: [5], left: 3, slots: 1 })).toBeCloseTo(55);
  });

  test('two cells at once take half as long as one after the other (the first ETA is not doubled)', () => {
    // 12 cells of 10 s each, two at a time: after the first finished, 11 cells' work (one half-run) is left.
    const eta = studyEtaSeconds({ finishedWalls: [10], runningFor: [10, 1], left: 9, slots: 2 });
    expect(eta).toBeCloseTo((9 * 10 + 0 + 9) / 2);
  });

  test('a running cell past the mean adds nothing (never a negative remainder)', () => {
    expect(studyEtaSeconds({ finishedWalls: [10], runningFor: [30], left: 0, slots: 4 })).toBe(0);
  });

  test('more slots than cells left: only the cells left share the work', () => {
    expect(studyEtaSeconds({ finishedWalls: [10], runningFor: [], left: 1, slots: 8 })).toBeCloseTo(10);
  });
});
