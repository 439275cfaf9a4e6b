import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStudyConfig, expandGrid } from '@deepconf-safety/runner';
import { newStudy, readStudyFile, writeStudyFile } from '../src/study/state.js';

const KEY = 'gw-SECRET-123';
const URL_WITH_KEY = `http://127.0.0.1:8000/v1?api-key=${KEY}`;
const USERINFO = 'http://alice:pa55word@127.0.0.1:8001/v1';

describe('study.json never holds an endpoint key', () => {
  test('endpoint URLs in the config and the discovered endpoints are written redacted; the study in memory keeps them', () => {
    const text = JSON.stringify({
      name: 'redact',
      models: ['m'],
      benchmarks: ['xstest'],
      settings: { low: { 'keep-percent': 10 } },
      seeds: [1],
      endpoints: [URL_WITH_KEY, USERINFO],
    });
    const config = parseStudyConfig(text, 'study.json');
    const study = newStudy(
      'redact',
      config,
      expandGrid(config, 'study.json'),
      [
        { url: URL_WITH_KEY, models: ['m'], emulated: false, hourlyPriceUsd: null },
        { url: USERINFO, models: ['m'], emulated: false, hourlyPriceUsd: null },
      ],
      null,
    );
    const dir = mkdtempSync(join(tmpdir(), 'study-redact-'));
    writeStudyFile(dir, study);
    const written = readFileSync(join(dir, 'study.json'), 'utf8');
    expect(written).not.toContain(KEY);
    expect(written).not.toContain('pa55word');
    expect(written).toContain('http://127.0.0.1:8000/v1?api-key=***');
    expect(written).toContain('http://***@127.0.0.1:8001/v1');
    // Still a study file a resume reads, and the running study still has the real URLs to send requests to.
    expect(readStudyFile(dir)?.configHash).toBe(study.configHash);
    expect(study.endpoints[0]?.url).toBe(URL_WITH_KEY);
  });
});
