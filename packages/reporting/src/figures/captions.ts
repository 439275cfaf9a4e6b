import { endSentence } from '../format.js';
import { escapeMarkdownCell } from '../report-md.js';
import type { Figure } from './common.js';
import { EMULATED_BANNER } from './palette.js';
import type { PresetName } from './presets.js';

/**
 * figures/captions.md: one caption per figure, ready to paste under `\includegraphics`. Paper figures carry no
 * title, run id or reading notes, so this is where they live.
 */
export function captionsMarkdown(
  figures: readonly Figure[],
  info: { emulated: boolean; preset: PresetName; runId: string },
): string {
  const out = [`# Figure captions (run \`${info.runId.replace(/[`\n]/g, '')}\`, preset ${info.preset})`, ''];
  if (info.emulated)
    out.push(`> **${EMULATED_BANNER}.** Every figure of this run carries an "EMULATED MODEL" mark.`, '');
  for (const f of figures) {
    out.push(
      `## ${f.name}`,
      '',
      `**${escapeMarkdownCell(endSentence(f.title))}** ${escapeMarkdownCell(`${f.caption} ${f.footer}`.trim())}`,
      '',
      `Source: ${escapeMarkdownCell(endSentence(f.subtitle))}`,
      '',
    );
  }
  return `${out.join('\n')}`;
}
