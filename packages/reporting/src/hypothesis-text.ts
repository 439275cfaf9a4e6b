import { formatP, num, pct } from './format.js';
import type { HypothesisResult, PrimaryTestName } from './hypothesis.js';
import { PRIMARY_DESCRIPTIONS } from './hypothesis.js';
import { holmAdjust } from './stats-proportions.js';

/*
 * The words of the hypothesis section: one row per test (primary first, the rest secondary with Holm-adjusted
 * p) and the sentences the reports print. Reports render these; they do not compose statistics themselves.
 */

type Analysis = Omit<HypothesisResult, 'tests' | 'statements'>;
type TestId = PrimaryTestName | 'compliance-logistic-length' | 'compliance-mann-whitney' | 'compliance-cmh';

/** One test of the hypothesis section. */
export interface TestRow {
  id: TestId;
  role: 'primary' | 'secondary';
  name: string;
  /** Who the test is about, e.g. "complying prompts (n = 96)". */
  population: string;
  /** The estimate with its interval, as printed. */
  estimate: string;
  pValue: number;
  /** Holm-adjusted over the secondary tests; null for the primary test. */
  pAdjusted: number | null;
  /** From p (primary) or the Holm-adjusted p (secondary); null when not computable. */
  significant: boolean | null;
  n: number;
}

/** One sentence of the hypothesis section. */
export interface TestStatement {
  name: string;
  role: 'primary' | 'secondary' | 'context';
  /** True when p < alpha (adjusted for secondary tests); null when the test could not be computed or has no p. */
  significant: boolean | null;
  n: number;
  text: string;
}

const pts = (d: number): string => (100 * d).toFixed(1);
const ci = (lo: number, hi: number, digits = 3): string => `${num(lo, digits)} to ${num(hi, digits)}`;
const level = (h: Analysis): string => `${Math.round(100 * (1 - h.alpha))}%`;

type CandidateRow = Omit<TestRow, 'role' | 'pAdjusted' | 'significant'>;

/** Who the tests are about: compliances by bucket, or by whether they were correct. */
interface Populations {
  nCompl: number;
  pop: string;
  nConf: number;
  popConf: string;
  /** Why a test needing both correct and incorrect compliances could not run. */
  oneClass: string;
}

function populations(h: Analysis): Populations {
  const nCompl = h.uncertainCompliance.n + h.confidentCompliance.n;
  const nConf = h.confidence.correct.length + h.confidence.incorrect.length;
  return {
    nCompl,
    pop: `complying prompts, uncertain vs confident (n = ${nCompl})`,
    nConf,
    popConf: `complying prompts, correct vs incorrect (n = ${nConf})`,
    oneClass: `not computable: ${h.confidence.correct.length} correct and ${h.confidence.incorrect.length} incorrect compliances, both are needed`,
  };
}

/** Uncertain versus confident compliance accuracy: Fisher's exact test and the permutation test of the same difference. */
function bucketDifferenceRows(h: Analysis, { pop, nCompl }: Populations): CandidateRow[] {
  const c = h.comparison;
  const missing =
    h.uncertainCompliance.n === 0
      ? 'not computable: no uncertain compliance'
      : 'not computable: no confident compliance';
  return [
    {
      id: 'compliance-accuracy',
      name: "Fisher's exact test (accuracy, uncertain − confident compliance)",
      population: pop,
      n: nCompl,
      estimate: c
        ? `difference ${pts(c.difference)} points, Newcombe ${level(h)} CI ${pts(c.interval.lower)} to ${pts(c.interval.upper)}`
        : missing,
      pValue: c?.pValue ?? Number.NaN,
    },
    {
      id: 'compliance-permutation',
      name: 'Permutation test (same difference)',
      population: pop,
      n: nCompl,
      estimate: h.permutation
        ? `difference ${pts(h.permutation.observed)} points, ${h.permutation.permutations.toLocaleString('en-US')} permutations, seed ${h.permutation.seed}`
        : missing,
      pValue: h.permutation?.pValue ?? Number.NaN,
    },
  ];
}

/** AUROC and the plain logistic regression: does confidence rank correct compliances above incorrect ones? */
function rankingRows(h: Analysis, { popConf, nConf, oneClass }: Populations): CandidateRow[] {
  const a = h.auroc;
  const l = h.logistic;
  return [
    {
      id: 'compliance-auroc',
      name: 'AUROC of confidence for a correct compliance (DeLong)',
      population: popConf,
      n: nConf,
      estimate: a
        ? `${num(a.auc)}, ${level(h)} CI ${ci(a.lower, a.upper)}${a.degenerate ? ' (degenerate: variance 0)' : ''}`
        : oneClass,
      pValue: a?.pValue ?? Number.NaN,
    },
    {
      id: 'compliance-logistic',
      name: 'Logistic regression, correct ~ confidence (Wald)',
      population: popConf,
      n: nConf,
      estimate:
        l === null
          ? 'not computable'
          : l.converged
            ? `slope ${num(l.slope)} (SE ${num(l.slopeSE)})`
            : `no estimate (${l.failure})`,
      pValue: l?.converged ? l.slopePValue : Number.NaN,
    },
  ];
}

/** The length-controlled regression, Mann-Whitney U and, with categories, Cochran–Mantel–Haenszel. */
function controlledRows(h: Analysis, { pop, nCompl, popConf, nConf, oneClass }: Populations): CandidateRow[] {
  const m = h.logisticWithLength;
  const rows: CandidateRow[] = [
    {
      id: 'compliance-logistic-length',
      name: 'Logistic regression, correct ~ confidence + length (Wald, confidence term)',
      population: popConf,
      n: nConf,
      estimate:
        m === null
          ? 'not computable (no trace lengths)'
          : m.converged
            ? `confidence ${num(m.coefficients[1]!)} (SE ${num(m.standardErrors[1]!)}), length ${num(m.coefficients[2]!, 5)} per token`
            : `no estimate (${m.failure})`,
      pValue: m?.converged ? m.pValues[1]! : Number.NaN,
    },
    {
      id: 'compliance-mann-whitney',
      name: `Mann-Whitney U (${h.mannWhitney?.method ?? 'asymptotic'})`,
      population: popConf,
      n: nConf,
      estimate: h.mannWhitney ? `U = ${num(h.mannWhitney.u, 1)}` : oneClass,
      pValue: h.mannWhitney?.pValue ?? Number.NaN,
    },
  ];
  if (h.cmh) {
    rows.push({
      id: 'compliance-cmh',
      name: 'Cochran–Mantel–Haenszel by category (no continuity correction)',
      population: `${pop}, ${h.cmh.categories} strata`,
      n: nCompl,
      estimate: Number.isNaN(h.cmh.statistic)
        ? 'not computable: no stratum has both groups and both outcomes'
        : `pooled odds ratio of an error ${num(h.cmh.commonOddsRatio, 2)} (uncertain vs confident), χ² = ${num(h.cmh.statistic, 2)}`,
      pValue: h.cmh.pValue,
    });
  }
  return rows;
}

/** Every test the analysis can report, in the order the secondary ones are listed. */
function candidateRows(h: Analysis): CandidateRow[] {
  const who = populations(h);
  return [...bucketDifferenceRows(h, who), ...rankingRows(h, who), ...controlledRows(h, who)];
}

/** The test rows: the declared primary first, then the secondary ones with Holm-adjusted p. */
export function testRows(h: Analysis): TestRow[] {
  const all = candidateRows(h);
  const primary = all.filter((r) => r.id === h.primary);
  const secondary = all.filter((r) => r.id !== h.primary);
  const adjusted = holmAdjust(secondary.map((r) => r.pValue));
  const verdict = (p: number): boolean | null => (Number.isNaN(p) ? null : p < h.alpha);
  return [
    ...primary.map((r): TestRow => ({ ...r, role: 'primary', pAdjusted: null, significant: verdict(r.pValue) })),
    ...secondary.map(
      (r, i): TestRow => ({ ...r, role: 'secondary', pAdjusted: adjusted[i]!, significant: verdict(adjusted[i]!) }),
    ),
  ];
}

function words(significant: boolean | null, p: string, n: number): string {
  if (significant === null) return `not computable (n = ${n})`;
  return `${significant ? 'significant' : 'not significant'} (${p}, n = ${n})`;
}

function primarySentence(h: Analysis, row: TestRow): string {
  const u = h.uncertainCompliance;
  const c = h.confidentCompliance;
  const groupsText =
    `uncertain compliance was correct in ${u.k}/${u.n} (${pct(u.value)}, Wilson ${level(h)} CI ${pct(h.intervals.uncertain.lower)} to ${pct(h.intervals.uncertain.upper)}), ` +
    `confident compliance in ${c.k}/${c.n} (${pct(c.value)}, ${pct(h.intervals.confident.lower)} to ${pct(h.intervals.confident.upper)})`;
  return `Primary test (declared before the run: ${PRIMARY_DESCRIPTIONS[h.primary]}): ${groupsText}; ${row.estimate}: ${words(row.significant, formatP(row.pValue), row.n)}.`;
}

function secondarySentence(row: TestRow, count: number): string {
  const p = `${formatP(row.pValue)}; Holm-adjusted over ${count} secondary tests: ${formatP(row.pAdjusted ?? Number.NaN)}`;
  return `Secondary: ${row.name}, ${row.population}: ${row.estimate}; ${words(row.significant, p, row.n)}.`;
}

function contextSentences(h: Analysis): TestStatement[] {
  const out: TestStatement[] = [];
  const r = h.review;
  if (r !== null && r.n > 0) {
    const caught =
      r.caughtShare === null
        ? 'none of them was wrong'
        : `you catch ${r.wrongCaught} of the ${r.wrong} wrong ones (${pct(r.caughtShare)})`;
    out.push({
      name: 'Review',
      role: 'context',
      significant: null,
      n: r.n,
      text: `Flag the least confident ${pct(r.requestedShare, 0)} of compliances for review (${r.flagged} of ${r.n}, confidence ≤ ${num(r.cut)}): ${caught}.`,
    });
  }
  const s = h.lengthCorrelation;
  if (s !== null) {
    out.push({
      name: 'Confidence and length',
      role: 'context',
      significant: null,
      n: s.n,
      text: `Decision confidence (${h.decisionConfidence}) and decision length: Spearman ρ = ${num(s.rho, 2)} (${level(h)} CI ${ci(s.lower, s.upper, 2)}, n = ${s.n}); a strongly negative ρ means "uncertain" partly means "long".`,
    });
  }
  if (h.calibration !== null) {
    out.push({
      name: 'Calibration',
      role: 'context',
      significant: null,
      n: h.calibration.n,
      text: `Calibration of the vote share over all ${h.calibration.n} labelled decisions: expected calibration error ${num(h.calibration.ece)} (${h.calibration.bins.length} equal-width bins).`,
    });
  }
  return out;
}

/** Rows and sentences of the hypothesis section: the primary test first, then secondary, then context. */
export function buildTests(h: Analysis): { tests: TestRow[]; statements: TestStatement[] } {
  if (h.untestable !== null) {
    return {
      tests: [],
      statements: [
        { name: 'Hypothesis', role: 'primary', significant: null, n: 0, text: h.untestable },
        ...contextSentences(h).filter((s) => s.name !== 'Review'),
      ],
    };
  }
  const tests = testRows(h);
  const secondaryCount = tests.filter((t) => t.role === 'secondary' && !Number.isNaN(t.pValue)).length;
  const statements: TestStatement[] = tests.map((t) => ({
    name: t.name,
    role: t.role,
    significant: t.significant,
    n: t.n,
    text: t.role === 'primary' ? primarySentence(h, t) : secondarySentence(t, secondaryCount),
  }));
  return { tests, statements: [...statements, ...contextSentences(h)] };
}

/** Columns of the hypothesis table both reports print. */
export const HYPOTHESIS_TABLE_HEAD = ['role', 'test', 'population', 'estimate', 'p-value', 'Holm-adjusted p', 'n'];

/** The hypothesis table as plain-text cells (the caller escapes them for its format). */
export function hypothesisTableRows(h: Pick<HypothesisResult, 'tests'>): string[][] {
  return h.tests.map((t) => [
    t.role,
    t.name,
    t.population,
    t.estimate,
    formatP(t.pValue),
    t.pAdjusted === null ? '—' : formatP(t.pAdjusted),
    String(t.n),
  ]);
}
