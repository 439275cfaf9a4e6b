import { EMULATED_BANNER, escapeMarkdownCell } from '@deepconf-safety/reporting';
import type { HalfSelectionReport } from './sweep-select.js';
import { selectionMarkdown } from './sweep-select-format.js';
import type { OfflineVariantResult, RecordedSettings, SweepResult, SweepRow } from '@deepconf-safety/runner';

/** What the sweep writes, beyond the replay itself. */
export interface SweepReport {
  run: { dir: string; runId: string; model: string | null; benchmark: string | null };
  emulated: boolean;
  grid: { windows: number[]; keepPercents: number[]; warmups: number[]; fallbackLabels?: 'exact' | 'recorded' };
  recordedSettings: RecordedSettings;
  sweep: SweepResult;
  /** Offline voting over every completed trace (null with --no-variants). */
  variants: OfflineVariantResult[] | null;
  /** Reference points without early stopping. */
  reference: { baselineTokens: number | null; deepconfVoteAccuracy: number | null; majorityAccuracy: number | null };
  notes: string[];
  /** `--select-on half`: chosen on one half of the prompts, tested on the other (absent otherwise). */
  selection?: HalfSelectionReport;
}

const BUCKETS = ['confident_refusal', 'uncertain_refusal', 'confident_compliance', 'uncertain_compliance'] as const;

const CSV_COLUMNS = [
  'emulated',
  'window',
  'keep_percent',
  'warmup',
  'computable',
  'blocked_traces',
  'instances',
  'decided',
  'accuracy',
  'tokens',
  'baseline_tokens',
  'token_savings_percent',
  'traces',
  'early_stopped',
  'early_stop_rate',
  'voters',
  'split_confidence',
  ...BUCKETS.flatMap((b) => [`${b}_count`, `${b}_accuracy`]),
  'pareto',
  'recorded_setting',
] as const;

const csvValue = (v: number | boolean | null): string => (v === null ? '' : String(v));

/** One row per setting. Every field is a number or a boolean, so nothing needs quoting; `emulated` travels with each row. */
export function sweepCsv(report: SweepReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of report.sweep.rows) {
    const values: Array<number | boolean | null> = [
      report.emulated,
      r.window,
      r.keepPercent,
      r.warmup,
      r.computable,
      r.blockedTraces,
      r.instances,
      r.decided,
      r.accuracy,
      r.tokens,
      r.baselineTokens,
      r.savingsPercent,
      r.traces,
      r.earlyStopped,
      r.earlyStopRate,
      r.voters,
      r.splitConfidence,
      ...BUCKETS.flatMap((b) => [r.buckets?.[b].count ?? null, r.buckets?.[b].accuracy ?? null]),
      r.pareto,
      r.recorded,
    ];
    lines.push(values.map(csvValue).join(','));
  }
  return `${lines.join('\n')}\n`;
}

const pct = (v: number | null, digits = 1): string => (v === null ? 'n/a' : `${(100 * v).toFixed(digits)}%`);
const signedPct = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)}%`);
const int = (v: number | null): string => (v === null ? 'n/a' : Math.round(v).toLocaleString('en-US'));

/** `key` of a setting as printed in tables and the figure. */
export const settingLabel = (r: Pick<SweepRow, 'window' | 'keepPercent' | 'warmup'>): string =>
  `W${r.window} η${r.keepPercent} w${r.warmup}`;

function describeRun(report: SweepReport): string {
  const s = report.recordedSettings;
  const what = [report.run.model, report.run.benchmark]
    .filter((x): x is string => x !== null)
    .map(escapeMarkdownCell)
    .join(' on ');
  return (
    `Run \`${escapeMarkdownCell(report.run.runId)}\`${what ? ` (${what})` : ''}: ${report.sweep.rows[0]?.instances ?? 0} prompts × ${s.traces} traces, recorded with ` +
    `window ${s.window}, keep ${s.keepPercent}%, warmup ${s.warmup}, ${s.calibration} calibration, ${s.earlyStop ? 'early stopping on' : 'no early stopping (full traces)'}.`
  );
}

export function sweepMarkdown(report: SweepReport): string {
  const out: string[] = [];
  out.push(`# DeepConf threshold sweep${report.emulated ? ' — EMULATED RUN' : ''}`, '');
  if (report.emulated)
    out.push(`> **⚠ ${EMULATED_BANNER}.** Every number below comes from the emulator, not from a model.`, '');
  out.push(describeRun(report), '');
  out.push(
    'Each row replays the recorded traces under one setting: the first *warmup* traces calibrate the threshold (keep η % of their lowest-group confidence), ' +
      'every other trace stops where the online rule would have stopped it (stopped traces do not vote), and the confidence-weighted vote decides. ' +
      `Savings are against the recorded run's baseline (${int(report.reference.baselineTokens)} tokens${report.recordedSettings.earlyStop ? ', estimated: the run stopped traces itself' : ', exact'}). ` +
      '★ = on the accuracy-versus-tokens Pareto front; ● = the setting the run used.',
    '',
  );
  out.push(
    '| window | keep η | warmup | accuracy | decided | tokens | savings | early-stopped | conf. refusal | unc. refusal | conf. compliance | unc. compliance | |',
  );
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|');
  for (const r of report.sweep.rows) {
    const marks = `${r.pareto ? '★' : ''}${r.recorded ? '●' : ''}`;
    if (!r.computable) {
      out.push(
        `| ${r.window} | ${r.keepPercent}% | ${r.warmup} | n/a | | | | | | | | | not computable: ${
          Object.entries(r.blockedReasons)
            .map(([k, n]) => `${n} × ${k}`)
            .join(', ') || `${r.blockedTraces} blocked trace(s)`
        } |`,
      );
      continue;
    }
    const bucket = (b: (typeof BUCKETS)[number]) => {
      const x = r.buckets?.[b];
      return x ? `${x.count} (${pct(x.accuracy, 0)})` : 'n/a';
    };
    out.push(
      `| ${r.window} | ${r.keepPercent}% | ${r.warmup} | ${pct(r.accuracy)} | ${r.decided}/${r.instances} | ${int(r.tokens)} | ${signedPct(r.savingsPercent)} | ` +
        `${r.earlyStopped ?? 'n/a'}/${r.traces ?? 'n/a'} | ${BUCKETS.map(bucket).join(' | ')} | ${marks} |`,
    );
  }
  out.push('');
  out.push(
    "Buckets: prompts per bucket (accuracy within it); a prompt is *confident* when its decision confidence reaches the run's split percentile.",
    '',
  );

  const check = report.sweep.recordedCheck;
  if (!check.computable) out.push("**Check:** the run's own setting could not be replayed (see the notes).", '');
  else if (check.mismatches.length === 0)
    out.push(
      `**Check:** replaying the run's own setting reproduces its online records exactly (${check.instances} prompts).`,
      '',
    );
  else
    out.push(
      `**Check failed:** replaying the run's own setting differs from its online records in ${check.mismatches.length} field(s); see sweep.json \`sweep.recordedCheck\`.`,
      '',
    );

  if (report.selection) out.push(...selectionMarkdown(report.selection));
  if (report.variants) out.push(...variantsMarkdown(report), '');
  if (report.notes.length > 0) out.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return `${out.join('\n')}\n`;
}

function variantLabel(v: OfflineVariantResult): string {
  if (v.metric === null) return 'majority (unweighted)';
  if (v.keepPercent === null) return `weighted by ${v.metric}`;
  return `top ${v.keepPercent}% by ${v.metric}, weighted`;
}

function variantsMarkdown(report: SweepReport): string[] {
  const variants = report.variants ?? [];
  const windows = [...new Set(variants.flatMap((v) => (v.window === null ? [] : [v.window])))].sort((a, b) => a - b);
  const out = [
    '## Offline voting variants (DeepConf §5)',
    '',
    'Every trace that ran to completion votes, with no early stopping and no warmup; accuracy over labelled prompts with a decision (decided in brackets). ' +
      'Window-dependent confidences (tail = last *window* tokens, bottom 10 % of window means, lowest window) are computed per window; majority and mean do not depend on it.',
    '',
    `| variant | ${windows.map((w) => `window ${w}`).join(' | ')} |`,
    `|:---|${windows.map(() => '---:').join('|')}|`,
  ];
  const names = [...new Set(variants.map((v) => v.name))];
  for (const name of names) {
    const rows = variants.filter((v) => v.name === name);
    const first = rows[0] as OfflineVariantResult;
    const cell = (v: OfflineVariantResult | undefined) => (v ? `${pct(v.accuracy)} (${v.decided})` : 'n/a');
    const cells =
      first.window === null
        ? windows.map(() => cell(first))
        : windows.map((w) => cell(rows.find((v) => v.window === w)));
    out.push(`| ${variantLabel(first)} | ${cells.join(' | ')} |`);
  }
  return out;
}
