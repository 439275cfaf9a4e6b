import { redactUrl } from '@deepconf-safety/run-store';
import { EMULATED_BANNER } from './figures/palette.js';
import { endSentence, int } from './format.js';
import { UNLABELLED_NOTICE } from './run-data.js';
import { scaleSentence } from './provenance-text.js';
import { judgeAgreementMarkdown, judgeDisagreementsMarkdown } from './judge-section.js';
import { clip, ERROR_BUCKETS, type FailureRow } from './report-data.js';
import type { HtmlReportInput } from './report-html.js';
import { reportTables, type ReportTable } from './report-tables.js';

/**
 * Escapes text for Markdown, the Markdown way: a backslash before every character Markdown or inline HTML
 * would read (`<` stays `\<`, never `&lt;`, so renderers and raw readers both see "p < 0.001"); pipes cannot
 * break a table and a newline becomes ⏎. Model output and dataset text stay inert wherever the file is pasted.
 */
export function escapeMarkdownCell(s: string): string {
  return s.replace(/([\\`*_[\]|~<>&])/g, '\\$1').replace(/\r?\n/g, ' ⏎ ');
}

const mdTable = (head: string[], rows: string[][]): string =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const renderTable = (t: ReportTable): string =>
  `*${escapeMarkdownCell(t.caption)}*\n\n${mdTable(
    t.head.map(escapeMarkdownCell),
    t.rows.map((r) => r.map((c) => escapeMarkdownCell(c.text))),
  )}`;

const BUCKET_TITLES: Record<FailureRow['bucket'], string> = {
  uncertain_compliance: 'Uncertain compliance that was wrong',
  confident_compliance: 'Confident compliance that was wrong',
  uncertain_refusal: 'Uncertain refusal that was wrong',
  confident_refusal: 'Confident refusal that was wrong',
};

function errorAnalysis(failures: readonly FailureRow[]): string {
  if (failures.length === 0) return 'No decision was wrong in this run.';
  const e = escapeMarkdownCell;
  return ERROR_BUCKETS.map((b) => {
    const rows = failures.filter((f) => f.bucket === b);
    if (rows.length === 0) return `### ${BUCKET_TITLES[b]} (0)\n\nNone.`;
    return `### ${BUCKET_TITLES[b]} (${rows.length})\n\n${mdTable(
      [
        'prompt id',
        'category',
        'label',
        'confidence',
        'detector',
        'prompt (first 200 characters)',
        'answer (first 200 characters)',
      ],
      rows.map((f) => [
        e(f.instanceId),
        e(f.category),
        f.shouldRefuse === null ? 'unlabelled' : f.shouldRefuse ? 'harmful' : 'safe',
        f.confidence.toFixed(3),
        e(f.detectorLabel ?? 'n/a'),
        e(clip(f.prompt, 200)),
        e(clip(f.answer, 200)),
      ]),
    )}`;
  }).join('\n\n');
}

/** report.md: the same content as report.html for papers and issues, figures linked rather than inlined. */
export function renderMarkdownReport(
  input: Omit<HtmlReportInput, 'figures'> & {
    figures: ReadonlyArray<{ name: string; title: string; caption: string }>;
  },
): string {
  const { run, metrics: m, hypothesis: h, figures, failures } = input;
  const e = escapeMarkdownCell;
  const banner = `${run.emulated ? `> **⚠ ${EMULATED_BANNER}**\n\n` : ''}${run.unlabelled ? `> **${escapeMarkdownCell(UNLABELLED_NOTICE)}**\n\n` : ''}`;
  const [summary, tests, buckets, categories, runInfo, config] = (input.tables ?? reportTables(input)).map(
    renderTable,
  ) as string[];
  const out: string[] = [];
  out.push(
    `${banner}# deepconf-safety report: ${e(m.model ?? 'unknown model')} on ${e(m.benchmark ?? 'unknown benchmark')}`,
  );
  out.push(
    `Run \`${m.runId.replace(/`/g, '')}\`, ${int(m.instances)} prompts, ${int(m.decided)} decided, status ${e(run.manifest.status)}. ${e(scaleSentence(run.manifest))}${run.results === null ? ' **results.json is missing: the run did not finish.**' : ''}`,
  );
  out.push('## Summary', summary!);
  out.push('## The hypothesis: is low-confidence compliance riskier?');
  out.push(
    `Significance level ${h.alpha}; "not significant" means these data cannot tell. ✱ marks a significant result, which the line also says in words.`,
  );
  out.push(
    h.statements
      .map(
        (s) =>
          `- ${s.significant === true ? '✱ significant: ' : ''}${s.role === 'primary' ? `**${e(s.text)}**` : e(s.text)}`,
      )
      .join('\n'),
  );
  out.push(tests!);
  out.push('## Confidence buckets', buckets!);
  out.push('## Per category', categories!);
  out.push('## Figures');
  out.push(
    figures
      .map((f) => `![${e(f.caption)}](figures/${f.name}.png)\n\n*${e(endSentence(f.title))}* ${e(f.caption)}`)
      .join('\n\n'),
  );
  const judged = input.judge ?? [];
  if (judged.length > 0) out.push(judgeAgreementMarkdown(judged, e));
  if (judged.some((a) => a.pairs > 0)) out.push(judgeDisagreementsMarkdown(judged, e));
  out.push(`## Error analysis: wrong decisions (${failures.length})`);
  out.push(
    'Grouped by bucket, least confident first; texts cut to 200 characters. failures.csv has every row in full.',
  );
  out.push(errorAnalysis(failures));
  out.push('## The run', runInfo!);
  out.push('## Configuration', config!);
  out.push(
    `Server: ${e(run.manifest.server.baseUrls.map(redactUrl).join(', '))}${run.manifest.server.emulated ? ' (emulator)' : ''}. Git commit: ${e(run.manifest.gitCommit ?? 'unknown')}.`,
  );
  if (run.emulated) out.push(`> **⚠ ${EMULATED_BANNER}**`);
  return `${out.join('\n\n')}\n`;
}
