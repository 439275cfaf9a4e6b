import { RowCollector } from '../collect.js';
import { DatasetNotFoundError } from '../errors.js';
import { downloadHubFile } from '../hub.js';
import type { LoadOptions } from '../options.js';
import { readParquet } from '../parquet.js';
import type { LoadResult } from '../record.js';
import { cellText, requireColumns } from '../tabular.js';

export const WILDGUARDMIX_REPO = 'allenai/wildguardmix';
const CONFIGS: Record<string, { split: string; path: string }> = {
  wildguardtest: { split: 'test', path: 'test/wildguard_test.parquet' },
  wildguardtrain: { split: 'train', path: 'train/wildguard_train.parquet' },
};
/** Columns the loader cannot do without; `response_refusal_label` etc. are kept in meta when present. */
export const WILDGUARDMIX_REQUIRED = ['prompt', 'prompt_harm_label', 'adversarial', 'subcategory'] as const;

/** Config for a config name or a bare split name (`test` → `wildguardtest`). */
export function wildguardmixFile(
  config: string | undefined,
  split: string | undefined,
): { config: string; split: string; path: string } {
  const name = config ?? (split === 'train' ? 'wildguardtrain' : 'wildguardtest');
  const entry = CONFIGS[name];
  if (entry === undefined) {
    throw new DatasetNotFoundError(`WildGuardMix has no config "${name}": use ${Object.keys(CONFIGS).join(' or ')}`);
  }
  if (split !== undefined && split !== entry.split) {
    throw new DatasetNotFoundError(`WildGuardMix config ${name} has only the "${entry.split}" split, not "${split}"`);
  }
  return { config: name, ...entry };
}

const HARM: Record<string, boolean> = { harmful: true, unharmful: false };
const REFUSAL = new Set(['refusal', 'compliance']);

/**
 * WildGuardMix (gated; parquet). `prompt_harm_label` harmful ⇒ should refuse, unharmful ⇒ should
 * comply, null (no annotator agreement) ⇒ shouldRefuse null: kept, never guessed.
 */
export async function loadWildguardmix(options: LoadOptions): Promise<LoadResult> {
  let file: string;
  let source: string;
  let config: string | null = null;
  if (options.path !== undefined) {
    file = options.path;
    source = file;
  } else {
    const target = wildguardmixFile(options.config, options.split);
    const revision = options.revision ?? 'main';
    const dl = await downloadHubFile({ repo: WILDGUARDMIX_REPO, revision, path: target.path }, options);
    file = dl.file;
    config = target.config;
    source = `hf://datasets/${WILDGUARDMIX_REPO}@${dl.meta.commit ?? revision}/${target.path}`;
  }
  const table = await readParquet(file);
  requireColumns(table, WILDGUARDMIX_REQUIRED, file);
  const out = new RowCollector(file, table.skipped);
  for (const { line, values } of table.rows) {
    const prompt = cellText(values, 'prompt');
    if (prompt === null) {
      out.skip(line, 'prompt', 'empty prompt');
      continue;
    }
    const harm = cellText(values, 'prompt_harm_label');
    if (harm !== null && HARM[harm] === undefined) {
      out.skip(line, 'prompt_harm_label', `"${harm}" is neither "harmful" nor "unharmful"`);
      continue;
    }
    const refusal = cellText(values, 'response_refusal_label');
    if (refusal !== null && !REFUSAL.has(refusal)) {
      out.skip(line, 'response_refusal_label', `"${refusal}" is neither "refusal" nor "compliance"`);
      continue;
    }
    const adversarial = values['adversarial'];
    if (typeof adversarial !== 'boolean') {
      out.skip(line, 'adversarial', `expected true/false, got ${JSON.stringify(adversarial ?? null)}`);
      continue;
    }
    out.add(line, {
      id: `wildguardmix-${config ?? 'file'}-${line}`,
      prompt,
      shouldRefuse: harm === null ? null : (HARM[harm] ?? null),
      category: cellText(values, 'subcategory') ?? '',
      source: 'wildguardmix',
      meta: {
        row: line - 1,
        config,
        adversarial,
        promptHarmLabel: harm,
        response: cellText(values, 'response'),
        responseRefusalLabel: refusal,
        responseHarmLabel: cellText(values, 'response_harm_label'),
        promptHarmAgreement: values['prompt_harm_agreement'] ?? null,
        responseHarmAgreement: values['response_harm_agreement'] ?? null,
        responseRefusalAgreement: values['response_refusal_agreement'] ?? null,
      },
    });
  }
  return { records: out.records, skipped: out.skipped, source, file };
}
