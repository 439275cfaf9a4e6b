import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  PRESETS,
  PRESET_NAMES,
  PlotRenderer,
  computeMetrics,
  generateReport,
  analyzeRun,
  hypothesisTests,
  compareRuns,
  readRun,
  svgSize,
  thresholdSweep,
  type RunData,
} from '@deepconf-safety/reporting';
import { allFigures } from '../src/figures/figures.js';
import { editJsonl, makeAllHarmfulRun, makeRun } from './make-run.js';
import { CHROMIUM, TextMeasurer, chromiumAvailable, layoutProblems } from './text-layout.js';

if (!chromiumAvailable && process.env.CI !== 'true')
  console.warn(`figure-layout.test.ts skipped: ${CHROMIUM} not found (apt-get install chromium).`);
const maybe = chromiumAvailable || process.env.CI === 'true' ? describe : describe.skip;

/** Runs that stress the layout: a typical one, a tiny one, long category names, every prompt harmful, vote-share confidence. */
function layoutRuns(): Record<string, RunData> {
  const shaped = makeRun({ instances: 48, emulated: true, seed: 5 });
  editJsonl(join(shaped, 'instances.jsonl'), (r, i) => ({
    ...r,
    category: i % 3 === 0 ? `contrast_${String(r['category'])}_with_a_rather_long_name_${i % 6}` : r['category'],
  }));
  const vote = readRun(makeRun({ instances: 60, emulated: false, seed: 13 }));
  // Vote-share decision confidence (a probability; the analysis is told so below), so the reliability diagram is drawn.
  const voteRun: RunData = {
    ...vote,
    instances: vote.instances.map((i) => ({ ...i, confidence: i.voteShare })),
    results: null,
  };
  return {
    typical: readRun(makeRun({ instances: 40, emulated: true })),
    tiny: readRun(makeRun({ instances: 8, emulated: false, seed: 9 })),
    shaped: readRun(shaped),
    harmful: readRun(makeAllHarmfulRun({ instances: 30, seed: 4 })),
    vote: voteRun,
  };
}

maybe('every figure in every preset, measured in Chromium', () => {
  let measurer: TextMeasurer;
  const runs = layoutRuns();
  const renderer = new PlotRenderer();

  beforeAll(async () => {
    measurer = await TextMeasurer.launch();
  }, 60_000);
  afterAll(async () => {
    renderer.close();
    await measurer?.close();
  });

  const figuresOf = (run: RunData, preset: (typeof PRESET_NAMES)[number]) => {
    const metrics = computeMetrics(run);
    const hypothesis =
      run === runs['vote']
        ? hypothesisTests(run.instances, {
            splitConfidence: metrics.split.confidence,
            decisionConfidence: 'vote-share',
            permutations: 500,
          })
        : analyzeRun(run, metrics, { permutations: 500 });
    return allFigures({
      run,
      metrics,
      hypothesis,
      sweep: thresholdSweep(run),
      renderer,
      seed: 0,
      preset: PRESETS[preset],
    });
  };

  test.each(PRESET_NAMES.flatMap((p) => Object.keys(runs).map((r) => [p, r] as const)))(
    '%s preset, %s run: sized to the preset, fonts at least the minimum, no text clipped or overprinted',
    async (presetName, runName) => {
      const preset = PRESETS[presetName];
      const figures = figuresOf(runs[runName]!, presetName);
      const minFont = preset.unit === 'pt' ? 7 : 12;
      for (const f of figures) {
        const { width } = svgSize(f.svg);
        expect({ figure: f.name, width }).toEqual({ figure: f.name, width: preset.width });
        if (preset.unit === 'pt') {
          expect(f.svg).toMatch(new RegExp(`^<svg [^>]*width="${preset.width / 72}in"`));
          // Paper figures carry no title or run id: those are in captions.md.
          expect(f.svg).not.toContain(runs[runName]!.manifest.runId);
          expect(f.svg).not.toContain(f.title);
        }
        const m = await measurer.measure(f.svg);
        expect(m.boxes.length).toBeGreaterThan(0);
        const small = m.boxes.filter((b) => b.fontSize < minFont - 1e-6).map((b) => `${b.text} (${b.fontSize})`);
        const problems = layoutProblems(m);
        expect({
          figure: f.name,
          small,
          outside: problems.outside.map((b) => b.text),
          overlapping: problems.overlapping,
        }).toEqual({ figure: f.name, small: [], outside: [], overlapping: [] });
      }
    },
    60_000,
  );

  test('the run comparison keeps its labels apart from three runs on, with an interval on every bar', async () => {
    const c = await compareRuns(
      ['typical', 'tiny', 'shaped', 'harmful'].map((k) => runs[k]!.dir),
      { resamples: 200 },
    );
    const m = await measurer.measure(c.svg);
    const problems = layoutProblems(m);
    expect({ outside: problems.outside.map((b) => b.text), overlapping: problems.overlapping }).toEqual({
      outside: [],
      overlapping: [],
    });
    expect(c.svg).toContain('Wilson 95% CI');
    // The subtitle wraps, so read the drawn text with one space between lines.
    expect(c.svg.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')).toContain('Wilson 95% CI');
    expect(c.svg.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')).toContain('primary test not testable');
  }, 60_000);

  test('the measurer catches what the layout test is for: text off the edge and text over text', async () => {
    const bad =
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50" viewBox="0 0 200 50"><text x="190" y="20" font-size="10">cut off here</text><text x="10" y="40" font-size="10">one</text><text x="14" y="41" font-size="10">two</text><text x="100" y="20" font-size="40" data-role="watermark">W</text></svg>';
    const p = layoutProblems(await measurer.measure(bad));
    expect(p.outside.map((b) => b.text)).toEqual(['cut off here']);
    expect(p.overlapping).toEqual([['one', 'two']]);
  });

  test('each figure set matches what the run supports (a reliability diagram only for a probability)', () => {
    expect(figuresOf(runs['vote']!, 'screen').map((f) => f.name)).toContain('reliability');
    expect(figuresOf(runs['typical']!, 'screen').map((f) => f.name)).not.toContain('reliability');
  });
});

describe('figure files of each preset', () => {
  test.each(PRESET_NAMES)(
    '%s: PNG at its density, vector PDF with embedded fonts, captions.md',
    async (name) => {
      const preset = PRESETS[name];
      const report = await generateReport(makeRun({ instances: 16, seed: 21 }), { resamples: 200, preset: name });
      expect(report.preset).toBe(name);
      const captions = readFileSync(report.files.captions, 'utf8');
      for (const f of report.files.figures) {
        const meta = await sharp(f.png).metadata();
        const expectedWidth = preset.unit === 'pt' ? Math.round((preset.width / 72) * 300) : 2000;
        expect({ figure: f.name, width: meta.width, density: meta.density }).toEqual({
          figure: f.name,
          width: expectedWidth,
          density: preset.pngDensity,
        });
        const pdf = readFileSync(f.pdf).toString('latin1');
        expect(pdf.startsWith('%PDF-')).toBe(true);
        const box = /\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(pdf);
        expect(Number(box?.[1])).toBeCloseTo(preset.unit === 'pt' ? preset.width : preset.width * 0.75, 1);
        // Text is real text in an embedded (subset) TrueType font, not a reference to an unembedded base-14 font.
        expect(pdf).toMatch(/\/FontFile2/);
        expect(pdf).toMatch(/\/BaseFont \/[A-Z]{6}\+DejaVuSans/);
        expect(pdf).not.toMatch(/\/BaseFont \/Helvetica/);
        expect(captions).toContain(`## ${f.name}`);
      }
    },
    180_000,
  );
});
