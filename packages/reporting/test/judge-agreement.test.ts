import { describe, expect, test } from '@jest/globals';
import { cohensKappa } from '@deepconf-safety/reporting';

const pairs = (table: [[number, number], [number, number]]): Array<[boolean, boolean]> => [
  ...Array.from({ length: table[0][0] }, (): [boolean, boolean] => [true, true]),
  ...Array.from({ length: table[0][1] }, (): [boolean, boolean] => [true, false]),
  ...Array.from({ length: table[1][0] }, (): [boolean, boolean] => [false, true]),
  ...Array.from({ length: table[1][1] }, (): [boolean, boolean] => [false, false]),
];

describe("Cohen's kappa", () => {
  test('textbook 2x2: po 0.7, pe 0.5 gives 0.4', () => {
    expect(
      cohensKappa(
        pairs([
          [20, 5],
          [10, 15],
        ]),
      ),
    ).toBeCloseTo(0.4, 12);
  });
  test('perfect agreement is 1, agreement at chance is 0, systematic disagreement is negative', () => {
    expect(
      cohensKappa(
        pairs([
          [10, 0],
          [0, 30],
        ]),
      ),
    ).toBeCloseTo(1, 12);
    expect(
      cohensKappa(
        pairs([
          [5, 5],
          [5, 5],
        ]),
      ),
    ).toBeCloseTo(0, 12);
    expect(
      cohensKappa(
        pairs([
          [0, 10],
          [10, 0],
        ]),
      ),
    ).toBeCloseTo(-1, 12);
  });
  test('undefined (null) when both raters give one and the same label, or there is nothing to compare', () => {
    expect(
      cohensKappa(
        pairs([
          [12, 0],
          [0, 0],
        ]),
      ),
    ).toBeNull();
    expect(cohensKappa([])).toBeNull();
  });
});

describe('judge section rendering', () => {
  const agreement = {
    style: 'wildguard',
    model: 'm',
    emulated: true,
    answered: 3,
    judged: 3,
    stale: 0,
    failures: { unparsable: 1 },
    pairs: 2,
    agreement: 0.5,
    kappa: 0,
    kappaInterval: null,
    voteSource: { detector: 3, judge: 0 },
    confusion: {
      compliance: { compliance: 1, refusal: 1, partial_refusal: 0 },
      refusal: { compliance: 0, refusal: 0, partial_refusal: 0 },
      partial_refusal: { compliance: 0, refusal: 0, partial_refusal: 0 },
    },
    disagreements: [
      {
        instanceId: 'p<1>',
        traceIndex: 0,
        prompt: 'Q <img src=x onerror=alert(1)>',
        answer: 'A </td><script>alert(1)</script> | pipe',
        detector: 'compliance' as const,
        judge: 'refusal' as const,
      },
    ],
    harm: {
      n: 4,
      harmful: 1,
      share: 0.25,
      interval: { lower: 0.046, upper: 0.7 },
      byBucket: {
        confident_compliance: { n: 0, harmful: 0, share: null, interval: null },
        uncertain_compliance: { n: 4, harmful: 1, share: 0.25, interval: { lower: 0.046, upper: 0.7 } },
      },
    },
  };
  test('model and dataset text is escaped in HTML and Markdown; failures and the harm view are stated with n', async () => {
    const {
      judgeAgreementHtml,
      judgeAgreementMarkdown,
      judgeDisagreementsHtml,
      judgeDisagreementsMarkdown,
      escapeHtml,
      escapeMarkdownCell,
    } = await import('@deepconf-safety/reporting');
    const html = judgeDisagreementsHtml([agreement], escapeHtml);
    expect(html).not.toMatch(/<script>|<img/);
    expect(html).toContain('&lt;script&gt;');
    const md = judgeDisagreementsMarkdown([agreement], escapeMarkdownCell);
    expect(md).not.toMatch(/<script>/);
    expect(md).toContain('\\| pipe');
    const facts = judgeAgreementMarkdown([agreement], escapeMarkdownCell);
    expect(facts).toContain(
      '| judge failures (no verdict; the detector label stands) | 1 (unparsable 1); their raw answers are in judgments.jsonl |',
    );
    expect(facts).toContain('25.0% (1/4; 95% Wilson 4.6% to 70.0%)');
    expect(facts).toContain('n/a (n = 0)');
    expect(judgeAgreementHtml([agreement], escapeHtml)).toContain('[EMULATED judge]');
  });

  test('every judge table in report.html has a caption and scoped header cells', async () => {
    const { judgeAgreementHtml, judgeDisagreementsHtml, escapeHtml } = await import('@deepconf-safety/reporting');
    const html = judgeAgreementHtml([agreement], escapeHtml) + judgeDisagreementsHtml([agreement], escapeHtml);
    const tables = html.match(/<table>/g) ?? [];
    expect(tables.length).toBe(3);
    expect(html.match(/<table><caption>[^<]+<\/caption>/g)).toHaveLength(3);
    expect(html).not.toMatch(/<th>/);
    expect(html).toContain('<th scope="col">value</th>');
    expect(html).toContain(`n = ${agreement.pairs}.</caption>`);
    // The row header of a disagreement is the prompt#trace, escaped like every cell.
    expect(html).toMatch(/<tr><th scope="row">[^<]+#\d+<\/th>/);
  });
});
