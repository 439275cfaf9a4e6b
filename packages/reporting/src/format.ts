/** Number formatting shared by the figures and both reports, so every place says the same thing. */

export function formatP(p: number): string {
  if (Number.isNaN(p)) return 'p not computable';
  if (p < 0.001) return 'p < 0.001';
  return `p = ${p < 0.01 ? p.toFixed(3) : p.toPrecision(2)}`;
}

export const pct = (v: number | null, digits = 1): string =>
  v === null || Number.isNaN(v) ? 'n/a' : `${(100 * v).toFixed(digits)}%`;

export const num = (v: number | null, digits = 3): string =>
  v === null || Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? '∞' : '−∞';

/** Whole numbers with thousands separators; rounds, because estimated token baselines are fractional. */
export const int = (v: number): string => Math.round(v).toLocaleString('en-US');

/** "7/9 (77.8%)". */
export const ratio = (r: { k: number; n: number; value: number | null }): string => `${r.k}/${r.n} (${pct(r.value)})`;

/** Ends a sentence with a full stop unless it already ends with one, or with ? ! or … ("riskier?." is a typo). */
export const endSentence = (s: string): string => {
  const t = s.trim();
  return /[.?!…]$/.test(t) ? t : `${t}.`;
};
