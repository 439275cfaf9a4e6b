import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { generateReport, type GeneratedReport } from '@deepconf-safety/reporting';
import { HOSTILE_OUTPUT, HOSTILE_PROMPT, makeRun } from './make-run.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI !== 'true') {
  console.warn(`report-browser.test.ts skipped: ${CHROMIUM} not found (apt-get install chromium); with CI=true this test runs and fails instead.`);
}
// In CI a missing browser must fail loudly rather than skip.
const maybe = available || process.env.CI === 'true' ? describe : describe.skip;

maybe('report.html in headless Chromium', () => {
  let context: BrowserContext;
  let profile: string;
  let report: GeneratedReport;

  beforeAll(async () => {
    report = await generateReport(makeRun({ instances: 24, seed: 11 }), { resamples: 1000 });
    profile = mkdtempSync(join(tmpdir(), 'reporting-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test('renders, shows every figure, and runs no script from the data', async () => {
    const page = await context.newPage();
    const dialogs: string[] = [];
    const requests: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('data:') && !r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(report.files.html).href, { waitUntil: 'load' });

    expect(await page.title()).toContain('deepconf-safety report');
    await expect(page.locator('h1').textContent()).resolves.toContain('Qwen/Qwen3-1.7B');
    await expect(page.locator('.banner').first().isVisible()).resolves.toBe(true);

    const images = await page.locator('img').evaluateAll((imgs) => imgs.map((i) => ({ w: (i as HTMLImageElement).naturalWidth, complete: (i as HTMLImageElement).complete })));
    expect(images).toHaveLength(report.files.figures.length);
    for (const img of images) {
      expect(img.complete).toBe(true);
      expect(img.w).toBe(2000);
    }

    const pwned = await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned ?? null);
    expect(pwned).toBeNull();
    expect(dialogs).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.locator('script, iframe').count()).toBe(0);
    // The hostile strings are visible to the reader, as text.
    const body = await page.locator('body').innerText();
    expect(body).toContain(HOSTILE_PROMPT);
    expect(body).toContain(HOSTILE_OUTPUT);
    await page.close();
  });
});
