import { createRequire } from 'node:module';
import * as fontkit from 'fontkit';

/**
 * DejaVu Sans, shipped by the `dejavu-fonts-ttf` package: the font the figures are laid out with, embedded in
 * every PDF, and the one librsvg (PNG) and Chromium pick for the family name on Debian (fonts-dejavu-core).
 * Measuring with the real font's advance widths keeps margins and labels exact instead of guessed.
 */
const require = createRequire(import.meta.url);
export const FONT_FILES = {
  regular: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
  bold: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
} as const;

type Face = { unitsPerEm: number; ascent: number; descent: number; layout(text: string): { advanceWidth: number } };
const faces = new Map<keyof typeof FONT_FILES, Face>();
function face(weight: keyof typeof FONT_FILES): Face {
  let f = faces.get(weight);
  if (!f) {
    f = fontkit.openSync(FONT_FILES[weight]) as unknown as Face;
    faces.set(weight, f);
  }
  return f;
}

const cache = new Map<string, number>();
/** Advance width of one line of text at `fontSize`, in the same units as the size. */
export function measureText(text: string, fontSize: number, bold = false): number {
  const key = `${bold ? 'b' : 'r'}${text}`;
  let em = cache.get(key);
  if (em === undefined) {
    const f = face(bold ? 'bold' : 'regular');
    em = f.layout(text).advanceWidth / f.unitsPerEm;
    if (cache.size > 50_000) cache.clear();
    cache.set(key, em);
  }
  return em * fontSize;
}

/** Height of a line box (ascent + descent) in ems: what a renderer's text bounding box spans. */
export function lineHeightEm(): number {
  const f = face('regular');
  return (f.ascent - f.descent) / f.unitsPerEm;
}
