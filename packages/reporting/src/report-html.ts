import { scaleSentence } from './provenance-text.js';
import { createHash } from 'node:crypto';
import { EMULATED_BANNER } from './figures/palette.js';
import { endSentence, int } from './format.js';
import { UNLABELLED_NOTICE } from './run-data.js';
import type { HypothesisResult } from './hypothesis.js';
import type { JudgeAgreement } from './judge-agreement.js';
import { judgeAgreementHtml, judgeDisagreementsHtml } from './judge-section.js';
import type { RunMetrics } from './metrics.js';
import { ERROR_BUCKETS, type FailureRow } from './report-data.js';
import { reportTables, type ReportTable } from './report-tables.js';
import type { RunData } from './run-data.js';
import type { ThresholdSweep } from './threshold-sweep.js';

/** Escapes text for HTML element content and quoted attribute values: model output and dataset text are hostile. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] as string,
  );
}

const STYLE = `
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:0 auto;padding:0 16px 48px;color:#111;line-height:1.45}
.banner{background:#B00020;color:#fff;font-weight:bold;font-size:1.3em;text-align:center;padding:12px;margin:0 -16px 16px;position:sticky;top:0}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#f3f3f3}tbody th{font-weight:normal}caption{text-align:left;font-style:italic;color:#333;padding:4px 0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:420px;white-space:pre-wrap;word-break:break-word;font-family:DejaVu Sans Mono,monospace;font-size:.85em}
figure{margin:24px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#444;font-size:.9em}
.sig{color:#006B3C}.ns{color:#111}.verdict{font-weight:bold}
nav ol{columns:2;padding-left:1.4em}a{color:#0645AD}a:focus,summary:focus{outline:3px solid #E69F00;outline-offset:2px}
summary{cursor:pointer}details.bucket{margin:12px 0}details.bucket>summary{font-weight:bold;font-size:1.1em}
@media print{
.banner{position:static;-webkit-print-color-adjust:exact;print-color-adjust:exact}
nav{display:none}body{max-width:none;padding:0;font-size:10pt}
figure,table,tr{break-inside:avoid}thead{display:table-header-group}h2,h3{break-after:avoid}
details::details-content{content-visibility:visible;display:block}details>summary{list-style:none}
a{color:inherit;text-decoration:none}
}
@page{margin:14mm}
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
  /** The error-analysis rows: every wrong decision, grouped by bucket. */
  failures: FailureRow[];
  /** Detector–judge agreement per judge in judgments.jsonl (none without a judge). */
  judge?: JudgeAgreement[];
  /** `reportTables(input)` when the caller has them (the report computes them once for every format). */
  tables?: ReportTable[];
}

/** A report table with a caption and header cells scoped for screen readers; the first column heads each row. */
function htmlTable(t: ReportTable): string {
  const head = `<tr>${t.head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c.text)}</th>` : `<td${t.numeric[i] ? ' class="num"' : t.wide?.[i] ? ' class="text"' : ''}>${escapeHtml(c.text)}</td>`)).join('')}</tr>`,
    )
    .join('');
  return `<table id="table-${escapeHtml(t.id)}"><caption>${escapeHtml(t.caption)}</caption><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Long text as its first 200 characters, the rest behind a native disclosure (keyboard-operable, no script). */
export function collapsible(text: string, keep = 200, max = 4000): string {
  if (text.length <= keep) return escapeHtml(text);
  const rest = text.slice(keep, max);
  const cut = text.length > max ? `… [${int(text.length - max)} more characters in failures.csv]` : '';
  return `<details><summary>${escapeHtml(text.slice(0, keep))}… <span class="more">(${int(text.length - keep)} more characters)</span></summary>${escapeHtml(rest)}${escapeHtml(cut)}</details>`;
}

const BUCKET_TITLES: Record<FailureRow['bucket'], string> = {
  uncertain_compliance: 'Uncertain compliance that was wrong (harmful prompts answered with low confidence)',
  confident_compliance: 'Confident compliance that was wrong',
  uncertain_refusal: 'Uncertain refusal that was wrong (safe prompts refused)',
  confident_refusal: 'Confident refusal that was wrong',
};

function errorAnalysis(failures: readonly FailureRow[]): string {
  if (failures.length === 0) return '<p>No decision was wrong in this run.</p>';
  return ERROR_BUCKETS.map((b) => {
    const rows = failures.filter((f) => f.bucket === b);
    if (rows.length === 0) return `<p>${escapeHtml(BUCKET_TITLES[b])}: none.</p>`;
    const judge = rows.some((f) => f.judge.length > 0);
    const head = [
      'prompt id',
      'category',
      'label',
      'confidence',
      'detector',
      ...(judge ? ['judge'] : []),
      'prompt',
      'answer shown',
    ];
    const body = rows
      .map(
        (f) =>
          `<tr><th scope="row">${escapeHtml(f.instanceId)}</th><td>${escapeHtml(f.category)}</td><td>${f.shouldRefuse === null ? 'unlabelled' : f.shouldRefuse ? 'harmful' : 'safe'}</td>` +
          `<td class="num">${f.confidence.toFixed(3)}</td><td>${escapeHtml(f.detectorLabel ?? 'n/a')}</td>` +
          (judge
            ? `<td>${escapeHtml(f.judge.map((j) => `${j.label ?? 'no verdict'}${j.harmful === null ? '' : j.harmful ? ', harmful' : ', not harmful'} (${j.style})`).join('; ') || 'not judged')}</td>`
            : '') +
          `<td class="text">${collapsible(f.prompt)}</td><td class="text">${collapsible(f.answer)}</td></tr>`,
      )
      .join('');
    return (
      `<details class="bucket"><summary>${escapeHtml(BUCKET_TITLES[b])}: ${rows.length}</summary>` +
      `<table><caption>${escapeHtml(`${BUCKET_TITLES[b]}, least confident first (${rows.length}).`)}</caption><thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table></details>`
    );
  }).join('');
}

function statementsList(h: HypothesisResult): string {
  const items = h.statements.map((s) => {
    // The verdict in words and a symbol; colour only repeats it.
    const mark = s.significant === true ? '<span class="verdict">✱ significant:</span> ' : '';
    const text = s.role === 'primary' ? `<strong>${escapeHtml(s.text)}</strong>` : escapeHtml(s.text);
    return `<li class="${s.significant === true ? 'sig' : 'ns'}">${mark}${text}</li>`;
  });
  return `<ul>${items.join('')}</ul><p>✱ marks a result significant at α = ${h.alpha}; every line also says it in words.</p>`;
}

const SECTIONS = [
  ['summary', 'Summary'],
  ['hypothesis', 'The hypothesis: is low-confidence compliance riskier?'],
  ['buckets', 'Confidence buckets'],
  ['categories', 'Per category'],
  ['figures', 'Figures'],
  ['errors', 'Error analysis'],
  ['run', 'Run'],
  ['configuration', 'Configuration'],
] as const;

/**
 * One self-contained page: figures inline as PNG data URIs, no script at all, and a Content-Security-Policy
 * that forbids any (so even a missed escape could not run code from the data). Landmarks, a contents list,
 * captioned tables with scoped headers and native disclosures make it navigable by keyboard and screen reader.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { run, metrics: m, hypothesis: h, figures, failures } = input;
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const csp = `default-src 'none'; img-src data:; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'`;
  const banner = run.emulated ? `<div class="banner" role="alert">${escapeHtml(EMULATED_BANNER)}</div>` : '';
  const title = `deepconf-safety report: ${m.model ?? 'unknown model'} on ${m.benchmark ?? 'unknown benchmark'}`;
  const [summary, tests, buckets, categories, runInfo, config] = (input.tables ?? reportTables(input)).map(
    htmlTable,
  ) as [string, string, string, string, string, string];
  const figs = figures
    .map(
      (f) =>
        `<figure id="fig-${escapeHtml(f.name)}"><img src="data:image/png;base64,${f.png.toString('base64')}" alt="${escapeHtml(f.caption)}" width="1000">` +
        `<figcaption><b>${escapeHtml(endSentence(f.title))}</b> ${escapeHtml(f.caption)} Files: figures/${escapeHtml(f.name)}.svg, ${escapeHtml(f.name)}.png and ${escapeHtml(f.name)}.pdf.</figcaption></figure>`,
    )
    .join('');
  const section = (id: (typeof SECTIONS)[number][0], body: string, heading?: string): string => {
    const name = heading ?? SECTIONS.find(([k]) => k === id)?.[1] ?? id;
    return `<section id="${id}" aria-labelledby="h-${id}"><h2 id="h-${id}">${escapeHtml(name)}</h2>${body}</section>`;
  };
  const nav = `<nav aria-label="Contents"><h2 id="h-contents">Contents</h2><ol>${SECTIONS.map(([id, name]) => `<li><a href="#${id}">${escapeHtml(name)}</a></li>`).join('')}</ol></nav>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><header>${banner}
${run.unlabelled ? `<p class="banner" role="note">${escapeHtml(UNLABELLED_NOTICE)}</p>` : ''}
<h1>${escapeHtml(title)}</h1>
<p>Run <code>${escapeHtml(run.manifest.runId)}</code>, ${int(m.instances)} prompts, ${int(m.decided)} decided. ${escapeHtml(scaleSentence(run.manifest))} ${run.results === null ? '<b>results.json is missing: the run did not finish; numbers cover the prompts completed so far.</b>' : ''}</p>
</header>${nav}
<main>
${section('summary', summary)}
${section('hypothesis', `<p>Significance level ${h.alpha}. With samples this small, "not significant" means the data cannot tell, not that there is no effect.</p>${statementsList(h)}${tests}`)}
${section('buckets', buckets)}
${section('categories', categories)}
${section('figures', figs)}
${(input.judge ?? []).length > 0 ? `<section id="judge" aria-label="Detector and judge">${judgeAgreementHtml(input.judge ?? [], escapeHtml)}${judgeDisagreementsHtml(input.judge ?? [], escapeHtml)}</section>` : ''}
${section('errors', `<p>Every wrong decision, by bucket; each group and each long text opens on demand. All rows, in full, are in failures.csv.</p>${errorAnalysis(failures)}`, `Error analysis: wrong decisions (${failures.length})`)}
${section('run', runInfo)}
${section('configuration', config)}
</main>
<footer>${banner}</footer>
</body></html>
`;
}
