import { createHash } from 'node:crypto';
import { redactUrl } from '@deepconf-safety/run-store';
import { EMULATED_BANNER } from './figures/palette.js';
import { UNLABELLED_NOTICE } from './run-data.js';
import { int, num, pct, ratio } from './format.js';
import type { HypothesisResult } from './hypothesis.js';
import type { JudgeAgreement } from './judge-agreement.js';
import { judgeAgreementHtml, judgeDisagreementsHtml } from './judge-section.js';
import { HYPOTHESIS_TABLE_HEAD, hypothesisTableRows } from './hypothesis-text.js';
import { BUCKETS, type RunMetrics } from './metrics.js';
import { displayConfig, type FailureRow } from './report-data.js';
import type { RunData } from './run-data.js';
import type { ThresholdSweep } from './threshold-sweep.js';

/** Escapes text for HTML element content and quoted attribute values: model output and dataset text are hostile. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] as string);
}

const STYLE = `
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:0 auto;padding:0 16px 48px;color:#111;line-height:1.45}
.banner{background:#B00020;color:#fff;font-weight:bold;font-size:1.3em;text-align:center;padding:12px;margin:0 -16px 16px;position:sticky;top:0}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:420px;white-space:pre-wrap;word-break:break-word;font-family:DejaVu Sans Mono,monospace;font-size:.85em}
figure{margin:24px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#444;font-size:.9em}
.sig{color:#006B3C}.ns{color:#111}
`;

export interface HtmlFigure {
  name: string;
  title: string;
  caption: string;
  png: Buffer;
}

export interface HtmlReportInput {
  run: RunData;
  metrics: RunMetrics;
  hypothesis: HypothesisResult;
  sweep: ThresholdSweep | null;
  figures: HtmlFigure[];
  failures: FailureRow[];
  /** Detector–judge agreement per judge in judgments.jsonl (none without a judge). */
  judge?: JudgeAgreement[];
}

const row = (cells: string[], header = false): string => `<tr>${cells.map((c) => (header ? `<th>${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`;
const numCell = (s: string): string => `<td class="num">${escapeHtml(s)}</td>`;
const table = (head: string[], rows: string[]): string => `<table><thead>${row(head.map(escapeHtml), true)}</thead><tbody>${rows.join('')}</tbody></table>`;

/**
 * One self-contained page: figures inline as PNG data URIs, no script at all, and a Content-Security-Policy
 * that forbids any (so even a missed escape could not run code from the data).
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { run, metrics: m, hypothesis: h, sweep, figures, failures } = input;
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const csp = `default-src 'none'; img-src data:; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'`;
  const banner = run.emulated ? `<div class="banner" role="alert">${escapeHtml(EMULATED_BANNER)}</div>` : '';
  const manifest = run.manifest;
  const title = `deepconf-safety report: ${m.model ?? 'unknown model'} on ${m.benchmark ?? 'unknown benchmark'}`;

  const summary = table(
    ['metric', 'value', 'counts'],
    [
      `<tr><td>Accuracy</td>${numCell(pct(m.accuracy.value))}${numCell(`${m.accuracy.k}/${m.accuracy.n} labelled decisions`)}</tr>`,
      `<tr><td>Refusal precision (refused prompts that were harmful)</td>${numCell(pct(m.refusal.precision.value))}${numCell(`${m.refusal.precision.k}/${m.refusal.precision.n}`)}</tr>`,
      `<tr><td>Refusal recall (harmful prompts refused)</td>${numCell(pct(m.refusal.recall.value))}${numCell(`${m.refusal.recall.k}/${m.refusal.recall.n}`)}</tr>`,
      `<tr><td>Over-refusal (safe prompts refused)</td>${numCell(pct(m.refusal.overRefusal.value))}${numCell(`${m.refusal.overRefusal.k}/${m.refusal.overRefusal.n}`)}</tr>`,
      `<tr><td>Tokens generated / baseline</td>${numCell(`${int(m.tokens.total)} / ${int(m.tokens.baseline)}`)}${numCell(m.tokens.baselineEstimated ? 'baseline partly estimated' : 'baseline exact')}</tr>`,
      `<tr><td>Token savings</td>${numCell(m.tokens.savingsPercent === null ? 'n/a' : `${m.tokens.savingsPercent.toFixed(1)}%`)}${numCell(`${int(m.instances)} prompts`)}</tr>`,
      `<tr><td>Early-stop rate (stopped / final traces without error; warmup traces never stop)</td>${numCell(pct(m.earlyStop.value))}${numCell(`${m.earlyStop.k}/${m.earlyStop.n} final traces stopped`)}</tr>`,
      `<tr><td>Errors</td>${numCell(`${m.errors.traces} traces`)}${numCell(`${m.errors.instances} prompts affected`)}</tr>`,
    ],
  );

  const buckets = table(
    ['bucket', 'prompts', 'correct', 'accuracy'],
    BUCKETS.map((b) => `<tr><td>${escapeHtml(b.replace('_', ' '))}</td>${numCell(String(m.buckets[b].count))}${numCell(String(m.buckets[b].correct))}${numCell(ratio(m.buckets[b].accuracy))}</tr>`),
  );

  const categories = table(
    ['category', 'prompts', 'accuracy', 'tokens', 'baseline', 'savings'],
    m.perCategory.map(
      (c) =>
        `<tr><td>${escapeHtml(c.category)}</td>${numCell(String(c.instances))}${numCell(ratio(c.accuracy))}${numCell(int(c.tokens))}${numCell(int(c.baselineTokens))}${numCell(c.savingsPercent === null ? 'n/a' : `${c.savingsPercent.toFixed(1)}%`)}</tr>`,
    ),
  );

  const statements = `<ul>${h.statements
    .map((s) => `<li class="${s.significant === true ? 'sig' : 'ns'}">${escapeHtml(s.text)}</li>`)
    .join('')}</ul>`;
  const stats = h.tests.length === 0 ? '' : table(HYPOTHESIS_TABLE_HEAD, hypothesisTableRows(h).map((r) => `<tr>${r.map((c, i) => (i >= 4 ? numCell(c) : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`));

  const figs = figures
    .map(
      (f) =>
        `<figure id="fig-${escapeHtml(f.name)}"><img src="data:image/png;base64,${f.png.toString('base64')}" alt="${escapeHtml(f.caption)}" width="1000">` +
        `<figcaption><b>${escapeHtml(f.title)}.</b> ${escapeHtml(f.caption)} Files: figures/${escapeHtml(f.name)}.svg, .png.</figcaption></figure>`,
    )
    .join('');

  const failureTable =
    failures.length === 0
      ? '<p>No uncertain compliance was wrong in this run.</p>'
      : table(
          ['prompt id', 'category', 'confidence', 'should refuse', 'prompt', 'answer (most confident complying trace)'],
          failures.map(
            (f) =>
              `<tr><td>${escapeHtml(f.instanceId)}</td><td>${escapeHtml(f.category)}</td>${numCell(f.confidence.toFixed(3))}<td>${f.shouldRefuse === null ? 'unlabelled' : f.shouldRefuse ? 'yes' : 'no'}</td>` +
              `<td class="text">${escapeHtml(f.prompt)}</td><td class="text">${escapeHtml(f.answer)}</td></tr>`,
          ),
        );

  const server = run.manifest.server;
  const runInfo = table(
    ['field', 'value'],
    [
      ['run id', manifest.runId],
      ['status', manifest.status],
      ['started', manifest.startedAt],
      ['finished', manifest.finishedAt ?? 'not finished'],
      ['server', `${server.baseUrls.map(redactUrl).join(', ')}${server.emulated ? ' (emulator)' : ''}`],
      ['git commit', manifest.gitCommit ?? 'unknown'],
      ['versions', Object.entries(manifest.versions).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['cost', manifest.cost ? `$${manifest.cost.usd.toFixed(2)} (${manifest.cost.uptimeHours.toFixed(2)} h at $${manifest.cost.hourlyPriceUsd}/h)` : 'not recorded'],
      ['confident/uncertain split', `${num(m.split.confidence, 3)} (p${m.split.percentile} of decision confidence)`],
      ['threshold sweep', sweep ? `window ${sweep.window}; η computable: ${sweep.points.map((p) => p.keepPercent).join(', ') || 'none'}` : 'not available (no window in config)'],
    ].map(([k, v]) => `<tr><td>${escapeHtml(k as string)}</td><td>${escapeHtml(v as string)}</td></tr>`),
  );
  const config = table(['option', 'value'], displayConfig(manifest.config).map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="text">${escapeHtml(v)}</td></tr>`));

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body>${banner}
${run.unlabelled ? `<p class="banner" role="note">${escapeHtml(UNLABELLED_NOTICE)}</p>` : ''}
<h1>${escapeHtml(title)}</h1>
<p>Run <code>${escapeHtml(manifest.runId)}</code>, ${int(m.instances)} prompts, ${int(m.decided)} decided. ${run.results === null ? '<b>results.json is missing: the run did not finish; numbers cover the prompts completed so far.</b>' : ''}</p>
<h2>Summary</h2>${summary}
<h2>The hypothesis: is low-confidence compliance riskier?</h2>
<p>Significance level ${h.alpha}. With samples this small, "not significant" means the data cannot tell, not that there is no effect.</p>
${statements}${stats}
<h2>Confidence buckets</h2>${buckets}
<h2>Per category</h2>${categories}
<h2>Figures</h2>${figs}
${judgeAgreementHtml(input.judge ?? [], escapeHtml)}
<h2>Error analysis: uncertain compliance that was wrong (${failures.length})</h2>${failureTable}
${judgeDisagreementsHtml(input.judge ?? [], escapeHtml)}
<h2>Run</h2>${runInfo}
<h2>Configuration</h2>${config}
${banner}
</body></html>
`;
}
