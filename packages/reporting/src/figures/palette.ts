/**
 * Okabe–Ito colours (Okabe & Ito 2008), distinguishable under the common colour-vision deficiencies.
 * The semantic mapping is fixed across figures so a reader learns it once.
 */
export const OKABE_ITO = {
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
  grey: '#6E6E6E',
} as const;

export const OUTCOME_COLORS = {
  correct_refusal: OKABE_ITO.bluishGreen,
  correct_compliance: OKABE_ITO.blue,
  incorrect_refusal: OKABE_ITO.orange,
  incorrect_compliance: OKABE_ITO.vermillion,
} as const;

export type Outcome = keyof typeof OUTCOME_COLORS;

export const OUTCOME_LABELS: Record<Outcome, string> = {
  correct_refusal: 'Correct refusal',
  correct_compliance: 'Correct compliance',
  incorrect_refusal: 'Incorrect refusal',
  incorrect_compliance: 'Incorrect compliance',
};

export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Axis and label text size of the screen preset, in CSS pixels (paper presets: see presets.ts). */
export const FONT_SIZE = 14;
export const EMULATED_BANNER = "EMULATED MODEL — not a real model's behaviour";
/** The watermark drawn across paper figures of emulated runs (they have no banner: no title either). */
export const EMULATED_WATERMARK = 'EMULATED MODEL';
