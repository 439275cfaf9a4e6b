/**
 * Output sizes. A paper preset is drawn in points (1 SVG user unit = 1 pt at print size), so every font size
 * in the file is its printed size; the screen preset is drawn in CSS pixels.
 */
export type PresetName = 'screen' | 'paper-column' | 'paper-full';

export const PRESET_NAMES: readonly PresetName[] = ['screen', 'paper-column', 'paper-full'];

export interface FigurePreset {
  name: PresetName;
  /** Figure width in user units. */
  width: number;
  /** What one user unit is: a CSS pixel (screen) or a typographic point (paper). */
  unit: 'px' | 'pt';
  /** Tick labels, axis labels, legends and value labels. */
  font: number;
  /** Notes inside panels; never below the 7 pt journals accept. */
  small: number;
  /** Panel headings (bold). */
  heading: number;
  /** Title size; null = no title, subtitle or footer drawn: they go to captions.md (paper figures carry no run id). */
  title: number | null;
  /** Multiplier for geometry designed at screen size (dot radii, strokes, gaps). */
  scale: number;
  /** Rasterisation density of the PNG in dots per inch. */
  pngDensity: number;
  /** Narrow figures stack side-by-side panels vertically. */
  narrow: boolean;
}

export const PRESETS: Record<PresetName, FigurePreset> = {
  // 1000 CSS px; PNG at 2x (192 dpi) for sharp display in the HTML report.
  screen: {
    name: 'screen',
    width: 1000,
    unit: 'px',
    font: 14,
    small: 12.5,
    heading: 14,
    title: 19,
    scale: 1,
    pngDensity: 192,
    narrow: false,
  },
  // A single column of a two-column paper (NeurIPS, ICML, ACL): 3.25 in.
  'paper-column': {
    name: 'paper-column',
    width: 3.25 * 72,
    unit: 'pt',
    font: 7,
    small: 7,
    heading: 7.5,
    title: null,
    scale: 0.42,
    pngDensity: 300,
    narrow: true,
  },
  // The full text width (6.75 in).
  'paper-full': {
    name: 'paper-full',
    width: 6.75 * 72,
    unit: 'pt',
    font: 8,
    small: 7.5,
    heading: 8.5,
    title: null,
    scale: 0.55,
    pngDensity: 300,
    narrow: false,
  },
};

/** The preset of a name given on the command line, or null. */
export function presetByName(name: string): FigurePreset | null {
  return (PRESET_NAMES as readonly string[]).includes(name) ? PRESETS[name as PresetName] : null;
}

/** Printed width of a user unit in inches. */
export const inchesPerUnit = (preset: FigurePreset): number => (preset.unit === 'pt' ? 1 / 72 : 1 / 96);
