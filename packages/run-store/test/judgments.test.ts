import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import {
  JUDGMENTS_FILE,
  JudgmentStore,
  isRunStoreError,
  judgmentContentHash,
  readJudgments,
  type JudgmentRecord,
} from '@deepconf-safety/run-store';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'judgments-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const judgment = (over: Partial<JudgmentRecord> = {}): JudgmentRecord => ({
  instanceId: 'a',
  traceIndex: 0,
  contentHash: judgmentContentHash('p', 't'),
  style: 'wildguard',
  model: 'm',
  label: 'refusal',
  harmful: false,
  harmfulRequest: true,
  raw: 'Harmful request: yes\nResponse refusal: yes\nHarmful response: no',
  error: null,
  at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('JudgmentStore', () => {
  test('a judgment is reused only for the same trace, style, model and text', () => {
    const dir = tmp();
    const w = JudgmentStore.open(dir, { write: true });
    w.append(judgment());
    w.close();
    const r = JudgmentStore.open(dir, { write: false });
    const key = { instanceId: 'a', traceIndex: 0, style: 'wildguard', model: 'm' };
    expect(r.get(key, judgmentContentHash('p', 't'))?.label).toBe('refusal');
    expect(r.get(key, judgmentContentHash('p', 'other text'))).toBeNull();
    expect(r.get({ ...key, model: 'other' }, judgmentContentHash('p', 't'))).toBeNull();
    expect(r.get({ ...key, style: 'xstest' }, judgmentContentHash('p', 't'))).toBeNull();
    expect(() => r.append(judgment())).toThrow(
      expect.objectContaining({ message: expect.stringContaining('read-only') }),
    );
  });

  test('the latest judgment of a key wins; a cut last line (kill -9 mid-write) is dropped and repaired', () => {
    const dir = tmp();
    const w = JudgmentStore.open(dir, { write: true });
    w.append(judgment({ label: null, error: { code: 'call_failed', message: 'HTTP 500' }, raw: null }));
    w.append(judgment({ label: 'compliance' }));
    w.close();
    appendFileSync(join(dir, JUDGMENTS_FILE), '{"instanceId":"b","traceIn');
    expect(readJudgments(dir).map((j) => j.label)).toEqual(['compliance']);
    const again = JudgmentStore.open(dir, { write: true });
    again.append(judgment({ instanceId: 'b' }));
    again.close();
    const lines = readFileSync(join(dir, JUDGMENTS_FILE), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(
      readJudgments(dir)
        .map((j) => j.instanceId)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  test('a malformed line in the middle names the file and line', () => {
    const dir = tmp();
    appendFileSync(
      join(dir, JUDGMENTS_FILE),
      `${JSON.stringify(judgment())}\n{"style":"gpt"}\n${JSON.stringify(judgment())}\n`,
    );
    let error: unknown;
    try {
      readJudgments(dir);
    } catch (e) {
      error = e;
    }
    expect(isRunStoreError(error)).toBe(true);
    expect((error as Error).message).toMatch(/judgments\.jsonl:2/);
  });
});
