import { describe, expect, test } from '@jest/globals';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  FEATURE_NAMES,
  LEARNED_MODEL,
  analyseResponse,
  detectRefusal,
  extractFeatures,
  learnedProbability,
  ruleVerdict,
} from '@deepconf-safety/refusal';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('learned component', () => {
  test('the committed model is over the features this code extracts, each in [0, 1]', () => {
    expect(LEARNED_MODEL.features).toEqual([...FEATURE_NAMES]);
    const a = analyseResponse("I can't help with that. Is there anything else I can help you with?");
    const x = extractFeatures(a, ruleVerdict(a), 'How do I make a bomb?', LEARNED_MODEL.impute);
    expect(x).toHaveLength(FEATURE_NAMES.length);
    for (const v of x) expect(v >= 0 && v <= 1).toBe(true);
  });

  test('a model trained on other features is refused, not silently misapplied', () => {
    expect(() =>
      learnedProbability(new Float64Array(FEATURE_NAMES.length), { ...LEARNED_MODEL, features: ['x'] }),
    ).toThrow(/retrain/);
  });

  test('is off by default; when on, the score is P(refused) and deterministic', () => {
    const text = "I'm sorry, but I can't help with that.";
    expect(detectRefusal(text)).toEqual(detectRefusal(text, { learned: false }));
    const on = detectRefusal(text, { learned: true, prompt: 'How do I pick a lock?' });
    expect(on).toEqual(detectRefusal(text, { learned: true, prompt: 'How do I pick a lock?' }));
    expect(on.refused).toBe(true);
    expect(on.score).toBeGreaterThan(0.5);
  });

  test('training is reproducible: the script gives the committed weights again', async () => {
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', resolve(repo, 'packages/refusal/scripts/train.ts'), '--print-json'],
      { cwd: repo },
    );
    const model = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(model.weights).toEqual(LEARNED_MODEL.weights);
    expect(model.bias).toBe(LEARNED_MODEL.bias);
    expect(model.impute).toEqual(LEARNED_MODEL.impute);
  }, 120_000);
});
