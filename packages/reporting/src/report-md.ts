import { redactUrl } from '@deepconf-safety/run-store';
import { EMULATED_BANNER } from './figures/palette.js';
import { UNLABELLED_NOTICE } from './run-data.js';
import { int, pct, ratio } from './format.js';
import { HYPOTHESIS_TABLE_HEAD, hypothesisTableRows } from './hypothesis-text.js';
import { BUCKETS } from './metrics.js';
import { judgeAgreementMarkdown, judgeDisagreementsMarkdown } from './judge-section.js';
import { displayConfig } from './report-data.js';
import type { HtmlReportInput } from './report-html.js';

/**
 * Escapes text for a Markdown table cell: pipes and newlines would break the table, and HTML or link
 * syntax in model output must stay inert wherever the Markdown is pasted.
 */
export function escapeMarkdownCell(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ⏎ ');
}

const mdTable = (head: string[], rows: string[][]): string =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** report.md: the same content as report.html for papers and issues, figures linked rather than inlined. */
export function renderMarkdownReport(input: Omit<HtmlReportInput, 'figures'> & { figures: ReadonlyArray<{ name: string; title: string; caption: string }> }): string {
  const { run, metrics: m, hypothesis: h, figures, failures } = input;
  const e = escapeMarkdownCell;
  const banner = `${run.emulated ? `> **⚠ ${EMULATED_BANNER}**\n\n` : ''}${run.unlabelled ? `> **${UNLABELLED_NOTICE}**\n\n` : ''}`;
  const out: string[] = [];
  out.push(`${banner}# deepconf-safety report: ${e(m.model ?? 'unknown model')} on ${e(m.benchmark ?? 'unknown benchmark')}`);
  out.push(`Run \`${m.runId.replace(/`/g, '')}\`, ${int(m.instances)} prompts, ${int(m.decided)} decided, status ${run.manifest.status}.${run.results === null ? ' **results.json is missing: the run did not finish.**' : ''}`);
  out.push('## Summary');
  out.push(
    mdTable(
      ['metric', 'value', 'counts'],
      [
        ['Accuracy', pct(m.accuracy.value), `${m.accuracy.k}/${m.accuracy.n}`],
        ['Refusal precision', pct(m.refusal.precision.value), `${m.refusal.precision.k}/${m.refusal.precision.n}`],
        ['Refusal recall (harmful prompts refused)', pct(m.refusal.recall.value), `${m.refusal.recall.k}/${m.refusal.recall.n}`],
        ['Over-refusal (safe prompts refused)', pct(m.refusal.overRefusal.value), `${m.refusal.overRefusal.k}/${m.refusal.overRefusal.n}`],
        ['Tokens / baseline', `${int(m.tokens.total)} / ${int(m.tokens.baseline)}`, m.tokens.baselineEstimated ? 'baseline partly estimated' : 'baseline exact'],
        ['Token savings', m.tokens.savingsPercent === null ? 'n/a' : `${m.tokens.savingsPercent.toFixed(1)}%`, `${m.instances} prompts`],
        ['Early-stop rate (stopped / final traces without error; warmup traces never stop)', pct(m.earlyStop.value), `${m.earlyStop.k}/${m.earlyStop.n} final traces stopped`],
      ],
    ),
  );
  out.push('## The hypothesis: is low-confidence compliance riskier?');
  out.push(`Significance level ${h.alpha}; "not significant" means these data cannot tell.\n`);
  out.push(h.statements.map((s) => `- ${s.role === 'primary' ? `**${e(s.text)}**` : e(s.text)}`).join('\n'));
  if (h.tests.length > 0) out.push(mdTable(HYPOTHESIS_TABLE_HEAD, hypothesisTableRows(h).map((r) => r.map(e))));
  out.push('## Confidence buckets');
  out.push(mdTable(['bucket', 'prompts', 'correct', 'accuracy'], BUCKETS.map((b) => [b.replace('_', ' '), String(m.buckets[b].count), String(m.buckets[b].correct), ratio(m.buckets[b].accuracy)])));
  out.push('## Per category');
  out.push(
    mdTable(
      ['category', 'prompts', 'accuracy', 'tokens', 'baseline', 'savings'],
      m.perCategory.map((c) => [e(c.category), String(c.instances), ratio(c.accuracy), int(c.tokens), int(c.baselineTokens), c.savingsPercent === null ? 'n/a' : `${c.savingsPercent.toFixed(1)}%`]),
    ),
  );
  out.push('## Figures');
  out.push(figures.map((f) => `![${e(f.caption)}](figures/${f.name}.png)\n\n*${e(f.title)}.* ${e(f.caption)}`).join('\n\n'));
  const judged = input.judge ?? [];
  if (judged.length > 0) out.push(judgeAgreementMarkdown(judged, e));
  out.push(`## Error analysis: uncertain compliance that was wrong (${failures.length})`);
  out.push(
    failures.length === 0
      ? 'No uncertain compliance was wrong in this run.'
      : mdTable(
          ['prompt id', 'category', 'confidence', 'prompt', 'answer'],
          failures.map((f) => [e(f.instanceId), e(f.category), f.confidence.toFixed(3), e(f.prompt), e(f.answer)]),
        ),
  );
  if (judged.some((a) => a.pairs > 0)) out.push(judgeDisagreementsMarkdown(judged, e));
  out.push('## Configuration');
  out.push(mdTable(['option', 'value'], displayConfig(run.manifest.config).map(([k, v]) => [e(k), e(v)])));
  out.push(`Server: ${e(run.manifest.server.baseUrls.map(redactUrl).join(', '))}${run.manifest.server.emulated ? ' (emulator)' : ''}. Git commit: ${e(run.manifest.gitCommit ?? 'unknown')}.`);
  if (run.emulated) out.push(`> **⚠ ${EMULATED_BANNER}**`);
  return `${out.join('\n\n')}\n`;
}
