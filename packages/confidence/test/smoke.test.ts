import { expect, test } from '@jest/globals';
import { x } from '@deepconf-safety/confidence';
test('resolves source', () => { expect(x).toBe(1); });
