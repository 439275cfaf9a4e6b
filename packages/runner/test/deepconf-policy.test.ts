import { describe, expect, test } from '@jest/globals';
import * as confidence from '@deepconf-safety/confidence';
import * as runner from '@deepconf-safety/runner';

// The policy itself is tested in packages/confidence/test/policy.test.ts.
describe('the runner uses the one DeepConf policy', () => {
  test('its policy exports are the functions of @deepconf-safety/confidence', () => {
    for (const name of [
      'StopMonitor',
      'baselineTokens',
      'calibrate',
      'decidePrompt',
      'findStopIndex',
      'hasConsensus',
      'isVoter',
      'traceMetrics',
    ] as const) {
      expect(runner[name]).toBe(confidence[name]);
    }
  });
});
