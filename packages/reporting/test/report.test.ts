import { beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, runConfig } from '@deepconf-safety/run-store';
import { JSDOM } from 'jsdom';
import sharp from 'sharp';
import {
  EMULATED_BANNER,
  compareRuns,
  escapeMarkdownCell,
  generateReport,
  type GeneratedReport,
} from '@deepconf-safety/reporting';
import { HOSTILE_OUTPUT, HOSTILE_PROMPT, makeRun } from './make-run.js';

// The synthetic run's confidence is lowest-group (nats): no reliability diagram, which needs a probability.
const FIGURES = [
  'hypothesis_validation',
  'risk_coverage',
  'confidence_4bucket',
  'token_savings',
  'accuracy_vs_tokens',
  'confidence_traces',
];

let emulatedDir: string;
let realDir: string;
let emulated: GeneratedReport;
let real: GeneratedReport;
let document: Document;

beforeAll(async () => {
  emulatedDir = makeRun({ instances: 40, emulated: true });
  realDir = makeRun({
    instances: 24,
    emulated: false,
    earlyStop: false,
    seed: 3,
    model: 'Qwen/Qwen3-4B',
    extraConfig: { 'api-key': 'sk-live-SECRET123', hfToken: 'hf_SECRET456', 'api-key-env': 'VLLM_API_KEY' },
  });
  [emulated, real] = await Promise.all([
    generateReport(emulatedDir, { resamples: 2000 }),
    generateReport(realDir, { resamples: 2000 }),
  ]);
  document = new JSDOM(readFileSync(emulated.files.html, 'utf8')).window.document;
}, 240_000);

describe('generateReport', () => {
  test('writes every figure as SVG, PNG and PDF, report.html and report.md inside the run', async () => {
    expect(emulated.files.figures.map((f) => f.name)).toEqual(FIGURES);
    for (const f of emulated.files.figures) {
      expect(f.png.startsWith(`${emulatedDir}/figures/`)).toBe(true);
      const meta = await sharp(f.png).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBe(2000); // 1000 CSS px at 144 dpi
      expect(meta.height).toBeGreaterThan(600);
      const svg = readFileSync(f.svg, 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      // Panels are translated groups, not nested <svg> viewports (which the PDF converter clips away).
      expect(svg.match(/<svg /g)!.length).toBe(1);
      expect(readFileSync(f.pdf).subarray(0, 5).toString()).toBe('%PDF-');
    }
    expect(emulated.files.html).toBe(`${emulatedDir}/report.html`);
    expect(emulated.files.markdown).toBe(`${emulatedDir}/report.md`);
  });

  test('figures carry titles, axis labels with units and sample sizes', () => {
    const svg = (name: string) => readFileSync(emulated.files.figures.find((f) => f.name === name)!.svg, 'utf8');
    const four = svg('confidence_4bucket');
    expect(four).toContain('Decision confidence by outcome');
    // The axis names the definition the run recorded (vote share by default, lowest-group in nats for older runs).
    expect(four).toMatch(/Decision confidence \((weighted vote share|vote margin|lowest-group, nats)\)/);
    for (const label of ['Correct refusal', 'Correct compliance', 'Incorrect refusal', 'Incorrect compliance'])
      expect(four).toMatch(new RegExp(`${label}</tspan><tspan [^>]*>\\(n = \\d+\\)`));
    // Okabe–Ito green / blue / orange / vermillion for the four outcomes.
    for (const colour of ['#009E73', '#0072B2', '#E69F00', '#D55E00']) expect(four).toContain(colour);
    expect(svg('token_savings')).toMatch(/Generated tokens per prompt/);
    expect(svg('token_savings')).toContain('All prompts (n&#160;=&#160;40)');
    // The group, its harmful count and rate are lines of one tick label.
    expect(svg('hypothesis_validation')).toMatch(
      /Uncertain<\/tspan><tspan [^>]*>compliance<\/tspan><tspan [^>]*>\d+\/\d+ = \d+%/,
    );
    expect(svg('hypothesis_validation')).toMatch(/Fisher.s exact \(primary\)/);
  });

  test('an emulated run says so on every figure and both reports; a real run does not', () => {
    for (const f of emulated.files.figures)
      expect(readFileSync(f.svg, 'utf8')).toContain('EMULATED MODEL — not a real model&#39;s behaviour');
    expect(readFileSync(emulated.files.html, 'utf8')).toContain('EMULATED MODEL — not a real model&#39;s behaviour');
    expect(readFileSync(emulated.files.markdown, 'utf8').startsWith(`> **⚠ ${EMULATED_BANNER}**`)).toBe(true);
    for (const f of real.files.figures) expect(readFileSync(f.svg, 'utf8')).not.toContain('EMULATED');
    expect(readFileSync(real.files.html, 'utf8')).not.toContain('EMULATED');
    expect(readFileSync(real.files.markdown, 'utf8')).not.toContain('EMULATED');
  });

  test('report.html is self-contained, scriptless, escapes hostile data, and forbids scripts by CSP', () => {
    expect(document.querySelectorAll('script, iframe, object, embed, link, base').length).toBe(0);
    const withHandlers = [...document.querySelectorAll('*')].filter((el) =>
      [...el.attributes].some((a) => /^on/i.test(a.name)),
    );
    expect(withHandlers).toEqual([]);
    const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline/);
    const imgs = [...document.querySelectorAll('img')];
    expect(imgs).toHaveLength(FIGURES.length);
    for (const img of imgs) expect(img.getAttribute('src')!.startsWith('data:image/png;base64,')).toBe(true);
    // The hostile strings are shown to the reader as text.
    expect(document.body.textContent).toContain(HOSTILE_PROMPT);
    expect(document.body.textContent).toContain(HOSTILE_OUTPUT);
  });

  test('report.html has the config, the server, the statistics in words and the error analysis', () => {
    const text = document.body.textContent ?? '';
    expect(text).toContain('http://127.0.0.1:8000/v1');
    expect(text).toContain('keepPercent');
    for (const s of emulated.hypothesis.statements) expect(text).toContain(s.text);
    expect(text).toMatch(/Error analysis: wrong decisions \(\d+\)/);
    expect(text).toMatch(/Uncertain compliance that was wrong \(harmful prompts answered with low confidence\): \d+/);
    expect(text).toMatch(/(not )?significant \(p [=<] [0-9.]+, n = \d+\)/);
  });

  test('report.md tables stay tables and keep HTML inert', () => {
    const md = readFileSync(emulated.files.markdown, 'utf8');
    // Hostile markup is there only backslash-escaped (inert), never as a raw tag.
    expect(md).not.toMatch(/(^|[^\\])<(script|img|iframe)/);
    expect(md).toContain('\\<script\\>');
    expect(md).toContain('![');
    expect(md).toContain('figures/hypothesis_validation.png');
    expect(escapeMarkdownCell('a|b\n<script>x</script> & p < 0.001')).toBe(
      'a\\|b ⏎ \\<script\\>x\\</script\\> \\& p \\< 0.001',
    );
    // Markdown escapes, never HTML entities (a raw reader and a renderer both see "p < 0.001").
    expect(md).not.toMatch(/&(lt|gt|amp|quot|#\d+);/);
  });

  test('secret-looking config values never reach the reports', () => {
    for (const file of [real.files.html, real.files.markdown]) {
      const text = readFileSync(file, 'utf8');
      // The typed config has no place for them: readers drop keys the schema does not know.
      expect(text).not.toContain('SECRET');
      expect(text).toMatch(/VLLM\\?_API\\?_KEY/); // the name of the variable is not a secret
    }
  });

  test('returns the metrics and statistics it drew', () => {
    expect(emulated.metrics.instances).toBe(40);
    expect(emulated.hypothesis.statements.length).toBeGreaterThanOrEqual(2);
    expect(real.sweep?.notComputable).toEqual([]);
  });

  test('a degenerate run (no compliance, no traces, no results.json) still gets a report saying what is not computable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reporting-degenerate-'));
    const { store } = RunStore.create(
      dir,
      {
        runId: 'd',
        startedAt: 'x',
        config: runConfig(),
        versions: {},
        gitCommit: null,
        server: { emulated: false, baseUrls: [] },
        emulated: false,
      },
      { resume: false },
    );
    for (const id of ['a', 'b', 'c']) {
      store.appendInstance({
        instanceId: id,
        prompt: id,
        category: 'c',
        source: 's',
        shouldRefuse: true,
        decision: 'refuse',
        confidence: id === 'a' ? null : 3,
        voteShare: 1,
        votes: { refuse: 1, comply: 0 },
        correct: true,
        threshold: null,
        traces: 0,
        voters: 0,
        earlyStopped: 0,
        errors: 0,
        tokens: 0,
        baselineTokens: 0,
        baselineEstimated: false,
      });
    }
    store.close();
    const r = await generateReport(dir, { resamples: 100 });
    expect(r.files.figures.map((f) => f.name)).toEqual([
      'hypothesis_validation',
      'confidence_4bucket',
      'token_savings',
    ]);
    const html = readFileSync(r.files.html, 'utf8');
    // Every prompt is harmful: the report says in one sentence that the hypothesis cannot be tested.
    expect(html).toContain('cannot be tested on xstest: every prompt is harmful');
    expect(html).toContain('results.json is missing');
    expect(r.metrics.tokens.savingsPercent).toBeNull();
  });

  test('an empty run is refused with what to do', async () => {
    const dir = makeRun({ instances: 0, withResults: false });
    await expect(generateReport(dir)).rejects.toThrow(/no finished prompt yet.*--resume/);
  });
});

describe('compareRuns', () => {
  test('one table and one figure across runs, labelled by model, with the emulated run flagged', async () => {
    const out = `${realDir}/../compare-${process.pid}`;
    const c = await compareRuns([emulatedDir, realDir], { outDir: out, resamples: 500 });
    expect(c.rows.map((r) => r.label)).toEqual(['Qwen3-1.7B', 'Qwen3-4B']);
    expect(c.emulated).toBe(true);
    expect(c.markdown).toContain('Qwen3-1.7B \\[EMULATED\\]');
    expect(c.markdown).toMatch(/\| Qwen3-4B \| 24 \|/);
    expect(c.svg).toContain('EMULATED MODEL');
    const meta = await sharp(c.files!.png).metadata();
    expect(meta.width).toBe(2000);
    expect(readFileSync(c.files!.html, 'utf8')).toContain('data:image/png;base64,');
  });

  test('two runs of one model are told apart by η', async () => {
    const high = makeRun({ instances: 8, keepPercent: 90 });
    const c = await compareRuns([emulatedDir, high], { resamples: 200 });
    expect(c.rows.map((r) => r.label)).toEqual(['Qwen3-1.7B η=10%', 'Qwen3-1.7B η=90%']);
    const same = await compareRuns([high, high], { resamples: 100 });
    expect(same.rows.map((r) => r.label)).toEqual([
      'Qwen3-1.7B η=90% (' + high.split('/').pop() + ') #1',
      'Qwen3-1.7B η=90% (' + high.split('/').pop() + ') #2',
    ]);
    await expect(compareRuns([])).rejects.toThrow(/at least one run directory/);
  });
});
