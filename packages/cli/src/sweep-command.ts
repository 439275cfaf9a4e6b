import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { RunStore } from '@deepconf-safety/run-store';
import {
  RunnerConfigError,
  loadRecording,
  offlineVotes,
  replayRun,
  sweepRecording,
  type Recording,
} from '@deepconf-safety/runner';
import { OptionError, parseOrOptionError } from './experiment/options.js';
import { sweepCsv, sweepMarkdown, type SweepReport } from './sweep-format.js';
import { sweepFigureSvg, svgToPng } from './sweep-figure.js';
import { SELECTION_CRITERIA, selectOnHalf, type SelectionCriterion } from './sweep-select.js';
import { selectionSummaryLines } from './sweep-select-format.js';
import { declaredPrimary } from '@deepconf-safety/reporting';

/** The process edges of `npm run sweep`, injected so tests run it in-process. */
export interface SweepIo {
  out(line: string): void;
  err(line: string): void;
}

export const SWEEP_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface SweepOptions {
  run: string;
  windows: number[];
  keepPercents: number[];
  /** Null = the run's own warmup. */
  warmups: number[] | null;
  output: string | null;
  variants: boolean;
  png: boolean;
  /** How a replay labels fallback voters stopped elsewhere than in the run (see --fallback-labels). */
  fallbackLabels: 'exact' | 'recorded';
  /** `--select-on half`: choose the setting on one seeded half of the prompts, test on the other (null = off). */
  selectOn: 'half' | null;
  /** Seed of the split (null = the run's seed). */
  selectSeed: number | null;
  selectBy: SelectionCriterion;
  /** Split percentiles the selection tries (null = the run's own). */
  splitPercentiles: number[] | null;
}

/** `32,64` or repeated flags; every item must be a number (an integer for window and warmup). */
function parseList(raw: unknown, flag: string, integer: boolean): number[] | null {
  if (raw === undefined) return null;
  const items = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === ''))
    throw new OptionError(
      `--${flag}: expected a comma-separated list such as ${integer ? '32,64,128' : '10,50,90'} (got ${JSON.stringify(raw)})`,
    );
  return items.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v)))
      throw new OptionError(`--${flag}: ${JSON.stringify(s)} is not ${integer ? 'an integer' : 'a number'}`);
    return v;
  });
}

export async function parseSweepOptions(argv: readonly string[]): Promise<SweepOptions | null> {
  const raw = await parseOrOptionError(
    yargs([...argv])
      .scriptName('npm run sweep --')
      .usage(
        '$0 <run dir> [options]\n\nReplays a recorded run (best: one made with --no-early-stop, which keeps every trace in full) under a grid of DeepConf settings: where each trace would have stopped, the tokens, the votes, decisions, accuracy and buckets. Writes sweep.csv, sweep.json, sweep.md and accuracy_vs_tokens.svg/.png into <run dir>/sweep/.',
      )
      .positional('run', { type: 'string', describe: 'run directory (the --output of npm run experiment)' })
      .option('window', {
        type: 'string',
        default: '32,64,128,256',
        describe: 'sliding windows in tokens, comma-separated',
      })
      .option('keep-percent', {
        type: 'string',
        default: '10,50,90',
        describe:
          'DeepConf eta values (share of warmup confidence kept; 10 = DeepConf-low, 90 = DeepConf-high), comma-separated',
      })
      .option('warmup', {
        type: 'string',
        describe: "warmup traces per prompt, comma-separated (default: the run's own)",
      })
      .option('output', { type: 'string', describe: 'output directory (default <run dir>/sweep)' })
      .option('variants', {
        type: 'boolean',
        default: true,
        describe: 'also compare the offline voting variants (--no-variants to skip)',
      })
      .option('png', { type: 'boolean', default: true, describe: 'also write the figure as PNG (--no-png to skip)' })
      .option('fallback-labels', {
        type: 'string',
        choices: ['exact', 'recorded'],
        default: 'exact',
        describe:
          'when no trace of a prompt may vote, its stopped traces vote on the text they produced; a replay that stops a trace elsewhere cannot know that text. exact: such settings are not computable; recorded: label on the recorded text (counted as approximate)',
      })
      .option('select-on', {
        type: 'string',
        choices: ['half'],
        describe:
          'half: choose the setting (window, keep, warmup, split percentile) on a seeded half of the prompts and test the hypothesis on the other half only',
      })
      .option('select-seed', {
        type: 'number',
        describe: "seed of the --select-on half split (default: the run's seed); recorded in sweep.json",
      })
      .option('select-by', {
        type: 'string',
        choices: [...SELECTION_CRITERIA],
        default: 'p-value',
        describe:
          'with --select-on: p-value = smallest Fisher p of uncertain vs confident compliance accuracy (uncertain less accurate); gap = largest accuracy gap; accuracy = best accuracy (then fewer tokens)',
      })
      .option('split-percentile', {
        type: 'string',
        describe: "with --select-on: split percentiles to choose among, comma-separated (default: the run's own)",
      })
      .strictOptions()
      .help()
      .version(false),
  );
  if (raw['help'] === true) return null;
  const positional = (raw['_'] as unknown[]).map(String);
  if (positional.length !== 1) {
    throw new OptionError(
      `expected one run directory, got ${positional.length === 0 ? 'none' : positional.join(' ')}; e.g. npm run sweep -- results/xstest_250 --window 32,64`,
    );
  }
  return {
    run: positional[0] as string,
    windows: parseList(raw['window'], 'window', true) ?? [],
    keepPercents: parseList(raw['keep-percent'], 'keep-percent', false) ?? [],
    warmups: parseList(raw['warmup'], 'warmup', true),
    output: typeof raw['output'] === 'string' ? raw['output'] : null,
    variants: raw['variants'] !== false,
    png: raw['png'] !== false,
    fallbackLabels: raw['fallback-labels'] === 'recorded' ? 'recorded' : 'exact',
    ...selectionOptions(raw),
  };
}

function selectionOptions(
  raw: Record<string, unknown>,
): Pick<SweepOptions, 'selectOn' | 'selectSeed' | 'selectBy' | 'splitPercentiles'> {
  const selectOn = raw['select-on'] === 'half' ? 'half' : null;
  const seed = raw['select-seed'];
  if (seed !== undefined && !(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0))
    throw new OptionError(`--select-seed: expected a non-negative integer (got ${JSON.stringify(seed)})`);
  const splitPercentiles = parseList(raw['split-percentile'], 'split-percentile', false);
  if (splitPercentiles?.some((p) => p < 0 || p > 100))
    throw new OptionError('--split-percentile: every value must be in [0, 100]');
  if (selectOn === null && (seed !== undefined || splitPercentiles !== null))
    throw new OptionError('--select-seed and --split-percentile go with --select-on half');
  return {
    selectOn,
    selectSeed: typeof seed === 'number' ? seed : null,
    selectBy: (raw['select-by'] as SelectionCriterion | undefined) ?? 'p-value',
    splitPercentiles,
  };
}

/** Replays, then builds everything that is written (no I/O). */
export function buildSweepReport(
  recording: Recording,
  grid: SweepReport['grid'],
  variants: boolean,
  onProgress?: (done: number, total: number) => void,
): SweepReport {
  const sweep = sweepRecording(recording, grid, onProgress);
  const s = recording.settings;
  const notes: string[] = [];
  if (recording.emulated)
    notes.push(
      'The run was made against the emulator: the numbers exercise the pipeline and say nothing about a model.',
    );
  if (recording.earlyStoppedTraces > 0) {
    notes.push(
      `The run stopped ${recording.earlyStoppedTraces} trace(s) early. A replay cannot lengthen them, so settings that would let them run further (a lower threshold, another window) are not computable, and the baseline is estimated. Record with --no-early-stop for a complete sweep.`,
    );
  }
  if (recording.unfinished.length > 0)
    notes.push(
      `${recording.unfinished.length} prompt(s) have traces but no result (the run was interrupted); they are left out.`,
    );
  if (s.consensusTau !== null)
    notes.push(
      `The run used adaptive sampling (--consensus ${s.consensusTau}); the replay votes over the traces it recorded and does not re-simulate which traces it skipped.`,
    );
  notes.push(
    'Stopped traces never vote (DeepConf), so their truncated text is never judged; token counts for a stop at token i are i + 1, as the online client counts them.',
  );

  const full = replayRun(recording, {
    window: s.window,
    keepPercent: s.keepPercent,
    warmup: s.warmup,
    earlyStop: false,
  });
  const variantRows = variants
    ? offlineVotes(recording, { windows: grid.windows, keepPercents: grid.keepPercents })
    : null;
  // With stopped traces the majority would be over the completed ones only: not a no-early-stop reference.
  const majority =
    recording.earlyStoppedTraces === 0 ? (variantRows?.find((v) => v.name === 'majority') ?? null) : null;
  if (variants && recording.earlyStoppedTraces > 0)
    notes.push(
      'The offline voting variants use only the traces that ran to completion, which a run with early stopping biases towards confident traces.',
    );
  const baselineTokens = sweep.rows.find((r) => r.baselineTokens !== null)?.baselineTokens ?? null;
  return {
    run: {
      dir: recording.dir,
      runId: recording.manifest.runId,
      model: recording.manifest.config.model,
      benchmark: recording.manifest.config.benchmark,
    },
    emulated: recording.emulated,
    grid,
    recordedSettings: s,
    sweep,
    variants: variantRows,
    reference: {
      baselineTokens,
      deepconfVoteAccuracy: full.computable ? full.results.overall.accuracy : null,
      majorityAccuracy: majority?.accuracy ?? null,
    },
    notes,
  };
}

/** What each reason a replay gives up means, and what to do about it. */
const BLOCKED_EXPLANATION: Record<string, string> = {
  'stop-beyond-recording':
    'a trace would run past where the run stopped it (tokens never generated); record with --no-early-stop',
  'warmup-truncated': 'a warmup trace of the setting was stopped in the run; record with --no-early-stop',
  'fallback-label-unknown':
    'a fallback vote needs the label of text the run never produced; pass --fallback-labels recorded to label it on the recorded text (approximate)',
};

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `--select-on half` over the grid, with the run's split percentile, seed and declared primary test as defaults. */
function selectionOf(recording: Recording, grid: SweepReport['grid'], o: SweepOptions) {
  return selectOnHalf(
    recording,
    { ...grid, splitPercentiles: o.splitPercentiles ?? [recording.settings.splitPercentile] },
    {
      seed: o.selectSeed ?? recording.manifest.config.seed,
      criterion: o.selectBy,
      primary: declaredPrimary(recording),
    },
  );
}

/** `npm run sweep`: returns the exit code (0 done, 1 failed, 2 bad options). */
export async function sweepCommand(argv: readonly string[], io: SweepIo): Promise<number> {
  let o: SweepOptions | null;
  try {
    o = await parseSweepOptions(argv);
  } catch (error) {
    io.err(`sweep: ${errorText(error)}`);
    return error instanceof OptionError ? SWEEP_EXIT.usage : SWEEP_EXIT.failed;
  }
  if (o === null) return SWEEP_EXIT.ok;
  try {
    const recording = loadRecording(RunStore.open(o.run));
    const grid = {
      windows: o.windows,
      keepPercents: o.keepPercents,
      warmups: o.warmups ?? [recording.settings.warmup],
      fallbackLabels: o.fallbackLabels,
    };
    const total = grid.windows.length * grid.keepPercents.length * grid.warmups.length;
    io.out(
      `Replaying ${recording.instances.length} prompts of run ${recording.manifest.runId}${recording.emulated ? ' [EMULATED]' : ''} under ${total} setting(s): ` +
        `window ${grid.windows.join(',')} × keep ${grid.keepPercents.join(',')} × warmup ${grid.warmups.join(',')}`,
    );
    // A few progress lines, not one per setting: a 1000-prompt sweep takes tens of seconds.
    let shown = 0;
    const report = buildSweepReport(recording, grid, o.variants, (done, all) => {
      const quarter = Math.floor((4 * done) / all);
      if (all >= 8 && quarter > shown && done < all) {
        shown = quarter;
        io.out(`replayed ${done}/${all} settings`);
      }
    });
    if (o.selectOn === 'half') report.selection = selectionOf(recording, grid, o);
    const outDir = o.output ?? join(o.run, 'sweep');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'sweep.csv'), sweepCsv(report));
    writeFileSync(join(outDir, 'sweep.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(outDir, 'sweep.md'), sweepMarkdown(report));
    const svg = sweepFigureSvg(report);
    writeFileSync(join(outDir, 'accuracy_vs_tokens.svg'), svg);
    if (o.png) writeFileSync(join(outDir, 'accuracy_vs_tokens.png'), await svgToPng(svg));

    const rows = report.sweep.rows;
    const notComputable = rows.filter((r) => !r.computable).length;
    const front = rows.filter((r) => r.pareto).length;
    if (recording.emulated) io.out('EMULATED RUN: these numbers come from the emulator, not from a model.');
    io.out(`${rows.length - notComputable}/${rows.length} settings computable, ${front} on the Pareto front`);
    const reasons = new Map<string, number>();
    for (const r of rows)
      for (const [reason, n] of Object.entries(r.blockedReasons))
        reasons.set(reason, (reasons.get(reason) ?? 0) + (n ?? 0));
    for (const [reason, n] of reasons)
      io.out(`  not computable because of ${n} trace(s): ${BLOCKED_EXPLANATION[reason] ?? reason}`);
    const check = report.sweep.recordedCheck;
    if (check.computable && check.mismatches.length > 0) {
      io.err(
        `warning: replaying the run's own setting differs from its records in ${check.mismatches.length} field(s) (first: ${JSON.stringify(check.mismatches[0])}); see sweep.json`,
      );
    } else if (check.computable) {
      io.out(`check: the replay of the run's own setting reproduces its online records (${check.instances} prompts)`);
    }
    if (report.selection) for (const line of selectionSummaryLines(report.selection)) io.out(line);
    io.out(
      `written: ${resolve(outDir)}/{sweep.csv,sweep.json,sweep.md,accuracy_vs_tokens.svg${o.png ? ',accuracy_vs_tokens.png' : ''}}`,
    );
    return SWEEP_EXIT.ok;
  } catch (error) {
    io.err(`sweep: ${errorText(error)}`);
    // A grid value the runner rejects is a usage error; anything else (unreadable run, bad manifest) a failure.
    return error instanceof RunnerConfigError ? SWEEP_EXIT.usage : SWEEP_EXIT.failed;
  }
}
