import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tmp = () => mkdtempSync(join(tmpdir(), 'run-store-jsonl-'));

describe('JsonlAppender', () => {
  test('lines are readable as soon as append returns, and background flushes lose none', async () => {
    const { JsonlAppender } = await import('@deepconf-safety/run-store');
    const file = join(tmp(), 'x.jsonl');
    const out = new JsonlAppender(file, { fsync: false });
    for (let i = 0; i < 200; i++) {
      out.append({ i });
      if (i % 7 === 0) out.syncSoon();
      if (i === 100) expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(101);
    }
    await new Promise((r) => setTimeout(r, 20));
    out.close();
    out.close(); // idempotent
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { i: number });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});
