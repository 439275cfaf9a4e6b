import { describe, expect, test } from '@jest/globals';
import { OptionError, parseExperimentOptions } from '../src/experiment/options.js';

describe('--decision-confidence and --vote', () => {
  test('defaults: vote-share and the weighted vote', async () => {
    expect(await parseExperimentOptions([])).toMatchObject({ decisionConfidence: 'vote-share', vote: 'weighted' });
  });

  test('each can be chosen', async () => {
    const o = await parseExperimentOptions(['--decision-confidence', 'margin', '--vote', 'majority']);
    expect(o).toMatchObject({ decisionConfidence: 'margin', vote: 'majority' });
  });

  test('a bad value names the flag', async () => {
    await expect(parseExperimentOptions(['--decision-confidence', 'mean'])).rejects.toThrow(OptionError);
    await expect(parseExperimentOptions(['--vote', 'plurality'])).rejects.toThrow(/--vote/);
  });
});
