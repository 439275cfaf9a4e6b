import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import sharp from 'sharp';
import { generateReport, type GeneratedReport } from '@deepconf-safety/reporting';
import { HOSTILE_OUTPUT, HOSTILE_PROMPT, makeRun } from './make-run.js';
import { CHROMIUM, chromiumAvailable } from './text-layout.js';

if (!chromiumAvailable && process.env.CI !== 'true') {
  console.warn(
    `report-browser.test.ts skipped: ${CHROMIUM} not found (apt-get install chromium); with CI=true this test runs and fails instead.`,
  );
}
// In CI a missing browser must fail loudly rather than skip.
const maybe = chromiumAvailable || process.env.CI === 'true' ? describe : describe.skip;

maybe('report.html in headless Chromium', () => {
  let context: BrowserContext;
  let profile: string;
  let report: GeneratedReport;

  beforeAll(async () => {
    // Uncertain compliance is always wrong here, so the primary test is significant and its marking can be checked.
    report = await generateReport(makeRun({ instances: 40, seed: 11, uncertainAccuracy: 0 }), { resamples: 1000 });
    profile = mkdtempSync(join(tmpdir(), 'reporting-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

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

    const images = await page
      .locator('img')
      .evaluateAll((imgs) =>
        imgs.map((i) => ({ w: (i as HTMLImageElement).naturalWidth, complete: (i as HTMLImageElement).complete })),
      );
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
    await page.close();
  });

  test('the error analysis is collapsed and opens from the keyboard; hostile text shows as text', async () => {
    const page = await context.newPage();
    await page.goto(pathToFileURL(report.files.html).href, { waitUntil: 'load' });
    const groups = page.locator('details.bucket');
    expect(await groups.count()).toBeGreaterThan(0);
    expect(await groups.evaluateAll((ds) => ds.filter((d) => (d as HTMLDetailsElement).open).length)).toBe(0);
    expect(await page.locator('body').innerText()).not.toContain(HOSTILE_OUTPUT);
    // Tab to the first group's summary (a native disclosure is focusable) and open it with Enter.
    const summary = groups.first().locator('summary').first();
    let focused = false;
    for (let i = 0; i < 80 && !focused; i++) {
      await page.keyboard.press('Tab');
      focused = await summary.evaluate((el) => el === document.activeElement);
    }
    expect(focused).toBe(true);
    await page.keyboard.press('Enter');
    expect(await groups.first().evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    const opened = await groups.first().innerText();
    expect(opened).toContain(HOSTILE_PROMPT);
    expect(opened).toContain(HOSTILE_OUTPUT.slice(0, 100));
    await page.close();
  });

  test('headings, landmarks and tables are exposed to assistive technology', async () => {
    const page = await context.newPage();
    await page.goto(pathToFileURL(report.files.html).href, { waitUntil: 'load' });
    expect(await page.getByRole('main').count()).toBe(1);
    expect(await page.getByRole('navigation', { name: 'Contents' }).count()).toBe(1);
    expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
    expect(await page.getByRole('heading', { level: 2, name: /The hypothesis/ }).count()).toBe(1);
    // Every table has a caption and scoped header cells; the contents links lead to existing sections.
    const tables = await page.locator('table').evaluateAll((ts) =>
      ts.map((t) => ({
        caption: (t as HTMLTableElement).caption?.textContent ?? '',
        unscoped: t.querySelectorAll('th:not([scope])').length,
      })),
    );
    expect(tables.length).toBeGreaterThanOrEqual(6);
    for (const t of tables) expect(t).toMatchObject({ unscoped: 0, caption: expect.stringMatching(/\w/) });
    const targets = await page
      .locator('nav a')
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).hash.slice(1)));
    for (const id of targets) expect(await page.locator(`[id="${id}"]`).count()).toBe(1);
    // "significant" is said in words and marked with a symbol, never by colour alone.
    const sig = await page.locator('li.sig').allInnerTexts();
    expect(sig.length).toBeGreaterThan(0);
    for (const s of sig) expect(s).toMatch(/^✱ significant: /);
    await page.close();
  });

  test('prints to a multi-page PDF and screenshots cleanly', async () => {
    const page = await context.newPage();
    await page.goto(pathToFileURL(report.files.html).href, { waitUntil: 'load' });
    await page.emulateMedia({ media: 'print' });
    // Print layout: no sticky banner over the content, no contents list, and the collapsed texts shown.
    expect(
      await page
        .locator('.banner')
        .first()
        .evaluate((el) => getComputedStyle(el).position),
    ).toBe('static');
    expect(await page.locator('nav').evaluate((el) => getComputedStyle(el).display)).toBe('none');
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThan(1);
    writeFileSync(join(report.files.html, '..', 'report.pdf'), pdf);
    await page.emulateMedia({ media: 'screen' });
    await page.setViewportSize({ width: 1200, height: 900 });
    const shot = await page.screenshot({ fullPage: false });
    const stats = await sharp(shot).stats();
    // Not blank: the page has dark text on white and the red banner.
    expect(stats.channels[0]!.min).toBeLessThan(60);
    expect(stats.channels[0]!.max).toBeGreaterThan(200);
    await page.close();
  }, 60_000);
});
