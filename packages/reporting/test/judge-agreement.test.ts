import { describe, expect, test } from '@jest/globals';
import { cohensKappa } from '@deepconf-safety/reporting';

const pairs = (table: [[number, number], [number, number]]): Array<[boolean, boolean]> => [
  ...Array.from({ length: table[0][0] }, (): [boolean, boolean] => [true, true]),
  ...Array.from({ length: table[0][1] }, (): [boolean, boolean] => [true, false]),
  ...Array.from({ length: table[1][0] }, (): [boolean, boolean] => [false, true]),
  ...Array.from({ length: table[1][1] }, (): [boolean, boolean] => [false, false]),
];

describe("Cohen's kappa", () => {
  test('textbook 2x2: po 0.7, pe 0.5 gives 0.4', () => {
    expect(cohensKappa(pairs([[20, 5], [10, 15]]))).toBeCloseTo(0.4, 12);
  });
  test('perfect agreement is 1, agreement at chance is 0, systematic disagreement is negative', () => {
    expect(cohensKappa(pairs([[10, 0], [0, 30]]))).toBeCloseTo(1, 12);
    expect(cohensKappa(pairs([[5, 5], [5, 5]]))).toBeCloseTo(0, 12);
    expect(cohensKappa(pairs([[0, 10], [10, 0]]))).toBeCloseTo(-1, 12);
  });
  test('undefined (null) when both raters give one and the same label, or there is nothing to compare', () => {
    expect(cohensKappa(pairs([[12, 0], [0, 0]]))).toBeNull();
    expect(cohensKappa([])).toBeNull();
  });
});
