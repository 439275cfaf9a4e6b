// The judge's part of report.html / report.md: agreement (before the error analysis) and the disagreeing answers
// (inside it). Model output and dataset text are escaped by the caller's escaper.
import { num, pct } from './format.js';
import { LABELS, type JudgeAgreement } from './judge-agreement.js';

const MAX_DISAGREEMENTS = 25;

const kappaText = (a: JudgeAgreement): string =>
  a.kappa === null
    ? 'n/a (no variation in one of the labels)'
    : `${num(a.kappa, 3)}${a.kappaInterval ? ` (95% CI ${num(a.kappaInterval.lower, 3)} to ${num(a.kappaInterval.upper, 3)}, prompt-clustered bootstrap, ${a.kappaInterval.resamples} resamples)` : ''}`;

const interval = (v: {
  share: number | null;
  interval: { lower: number; upper: number } | null;
  harmful: number;
  n: number;
}): string =>
  v.share === null || v.interval === null
    ? `n/a (n = ${v.n})`
    : `${pct(v.share)} (${v.harmful}/${v.n}; 95% Wilson ${pct(v.interval.lower)} to ${pct(v.interval.upper)})`;

const failureText = (a: JudgeAgreement): string => {
  const total = Object.values(a.failures).reduce((x, y) => x + y, 0);
  if (total === 0) return 'none';
  return `${total} (${Object.entries(a.failures)
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`)
    .join(', ')}); their raw answers are in judgments.jsonl`;
};

/** Rows of facts about one judge: [label, value] (plain text; the caller escapes). */
export function judgeFacts(a: JudgeAgreement): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['judge', `${a.style} (${a.model})${a.emulated ? ' [EMULATED judge]' : ''}`],
    [
      'answered traces / judged',
      `${a.answered} / ${a.judged}${a.judged < a.answered ? ` (${a.answered - a.judged} not judged)` : ''}${a.stale > 0 ? `; ${a.stale} stale judgments of redone traces ignored` : ''}`,
    ],
    ['judge failures (no verdict; the detector label stands)', failureText(a)],
    ['vote label used', `detector ${a.voteSource.detector}, judge ${a.voteSource.judge}`],
  ];
  if (a.pairs > 0) {
    rows.push(['traces with both labels', String(a.pairs)]);
    rows.push(['agreement (partial refusal counts as refusal)', pct(a.agreement)]);
    rows.push(["Cohen's κ, detector vs judge", kappaText(a)]);
  }
  if (a.harm !== null) {
    rows.push(['incorrect compliance: compliant answers to harmful prompts the judge found harmful', interval(a.harm)]);
    rows.push(['… of prompts in confident compliance', interval(a.harm.byBucket.confident_compliance)]);
    rows.push(['… of prompts in uncertain compliance', interval(a.harm.byBucket.uncertain_compliance)]);
  }
  return rows;
}

const confusionRows = (a: JudgeAgreement): string[][] =>
  LABELS.map((d) => [`detector: ${d}`, ...LABELS.map((j) => String(a.confusion[d][j]))]);
const CONFUSION_HEAD = ['', ...LABELS.map((j) => `judge: ${j}`)];

type Escape = (s: string) => string;
const mdTable = (head: string[], rows: string[][]): string =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** "## Detector and judge" for report.md (empty string without judgments). */
export function judgeAgreementMarkdown(list: readonly JudgeAgreement[], e: Escape): string {
  if (list.length === 0) return '';
  return list
    .map((a) => {
      const parts = [
        `## Detector and judge: ${e(a.style)} (${e(a.model)})`,
        mdTable(
          ['', 'value'],
          judgeFacts(a).map(([k, v]) => [e(k), e(v)]),
        ),
      ];
      if (a.pairs > 0)
        parts.push(
          mdTable(
            CONFUSION_HEAD.map(e),
            confusionRows(a).map((r) => r.map(e)),
          ),
        );
      return parts.join('\n\n');
    })
    .join('\n\n');
}

/** The disagreeing answers, for the error-analysis section of report.md. */
export function judgeDisagreementsMarkdown(list: readonly JudgeAgreement[], e: Escape): string {
  return list
    .filter((a) => a.pairs > 0)
    .map((a) => {
      const head = `### Detector and ${e(a.style)} judge disagree (${a.disagreements.length}${a.disagreements.length > MAX_DISAGREEMENTS ? `, first ${MAX_DISAGREEMENTS} shown` : ''})`;
      if (a.disagreements.length === 0) return `${head}\n\nThey agree on every trace.`;
      const rows = a.disagreements
        .slice(0, MAX_DISAGREEMENTS)
        .map((d) => [e(`${d.instanceId}#${d.traceIndex}`), e(d.detector), e(d.judge), e(d.prompt), e(d.answer)]);
      return `${head}\n\n${mdTable(['trace', 'detector', 'judge', 'prompt', 'answer'], rows)}`;
    })
    .join('\n\n');
}

// Cells arrive escaped. Like the report's other tables: a caption, column headers scoped, the first cell heading its row.
const headRow = (cells: string[]): string => `<tr>${cells.map((c) => `<th scope="col">${c}</th>`).join('')}</tr>`;
const bodyRow = (cells: string[]): string =>
  `<tr>${cells.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`;
const htmlTable = (caption: string, head: string[], rows: string[][]): string =>
  `<table><caption>${caption}</caption><thead>${headRow(head)}</thead><tbody>${rows.map(bodyRow).join('')}</tbody></table>`;

/** The same for report.html (`e` escapes HTML). */
export function judgeAgreementHtml(list: readonly JudgeAgreement[], e: Escape): string {
  return list
    .map((a) => {
      const facts = htmlTable(
        e(`The ${a.style} judge (${a.model}): what it judged, its failures, and how far it agrees with the detector.`),
        ['', 'value'],
        judgeFacts(a).map(([k, v]) => [e(k), e(v)]),
      );
      const confusion =
        a.pairs > 0
          ? htmlTable(
              e(`Traces by the detector's label (rows) and the ${a.style} judge's (columns), n = ${a.pairs}.`),
              CONFUSION_HEAD.map(e),
              confusionRows(a).map((r) => r.map(e)),
            )
          : '';
      return `<h2>Detector and judge: ${e(a.style)} (${e(a.model)})</h2>${facts}${confusion}`;
    })
    .join('\n');
}

export function judgeDisagreementsHtml(list: readonly JudgeAgreement[], e: Escape): string {
  return list
    .filter((a) => a.pairs > 0)
    .map((a) => {
      const head = `<h3>Detector and ${e(a.style)} judge disagree (${a.disagreements.length}${a.disagreements.length > MAX_DISAGREEMENTS ? `, first ${MAX_DISAGREEMENTS} shown` : ''})</h3>`;
      if (a.disagreements.length === 0) return `${head}<p>They agree on every trace.</p>`;
      const rows = a.disagreements
        .slice(0, MAX_DISAGREEMENTS)
        .map(
          (d) =>
            `<tr><th scope="row">${e(`${d.instanceId}#${d.traceIndex}`)}</th>${[d.detector, d.judge].map((c) => `<td>${e(c)}</td>`).join('')}<td class="text">${e(d.prompt)}</td><td class="text">${e(d.answer)}</td></tr>`,
        );
      const caption = e(
        `Traces the detector and the ${a.style} judge label differently (prompt#trace), with the prompt and the answer.`,
      );
      return `${head}<table><caption>${caption}</caption><thead>${headRow(['trace', 'detector', 'judge', 'prompt', 'answer'].map(e))}</thead><tbody>${rows.join('')}</tbody></table>`;
    })
    .join('\n');
}
