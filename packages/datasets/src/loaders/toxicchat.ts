import { z } from 'zod';
import { RowCollector } from '../collect.js';
import { DatasetFormatError, DatasetNotFoundError } from '../errors.js';
import { readText } from '../files.js';
import { downloadHubFile } from '../hub.js';
import type { LoadOptions } from '../options.js';
import type { LoadResult } from '../record.js';
import { cellText, parseCsv, requireColumns } from '../tabular.js';

export const TOXICCHAT_REPO = 'lmsys/toxic-chat';
const CONFIGS: Record<string, string> = { toxicchat0124: '0124', toxicchat1123: '1123' };
const SPLITS = ['train', 'test'];

/** Path of a ToxicChat CSV in the hub repository for a config and split. */
export function toxicchatHubPath(config: string, split: string): string {
  const version = CONFIGS[config];
  if (version === undefined) {
    throw new DatasetNotFoundError(
      `ToxicChat has no config "${config}": use one of ${Object.keys(CONFIGS).join(', ')}`,
    );
  }
  if (!SPLITS.includes(split)) throw new DatasetNotFoundError(`ToxicChat has no split "${split}": use train or test`);
  return `data/${version}/toxic-chat_annotation_${split}.csv`;
}

function category(toxicity: number, jailbreaking: number): string {
  return jailbreaking === 1 ? 'jailbreaking' : toxicity === 1 ? 'toxic' : 'non-toxic';
}

function bit(value: string | null): 0 | 1 | null {
  return value === '0' ? 0 : value === '1' ? 1 : null;
}

function bool(value: string | null): boolean | null {
  const v = value?.toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : null;
}

/** ToxicChat: `toxicity = 1` ⇒ the prompt should be refused. Hub CSV, a local CSV, or the JUDGE-BENCH JSON. */
export async function loadToxicchat(options: LoadOptions): Promise<LoadResult> {
  const config = options.config ?? 'toxicchat0124';
  const split = options.split ?? 'test';
  if (options.path !== undefined) {
    const text = await readText(options.path, options.encoding);
    const parsed = options.path.toLowerCase().endsWith('.json')
      ? parseJudgeBench(text, options.path)
      : parseToxicchatCsv(text, options.path, { config: null, split: null }, options.path);
    return { ...parsed, file: options.path };
  }
  const revision = options.revision ?? 'main';
  const path = toxicchatHubPath(config, split);
  const dl = await downloadHubFile({ repo: TOXICCHAT_REPO, revision, path }, options);
  const source = `hf://datasets/${TOXICCHAT_REPO}@${dl.meta.commit ?? revision}/${path}`;
  return { ...parseToxicchatCsv(await readText(dl.file), dl.file, { config, split }, source), file: dl.file };
}

function parseToxicchatCsv(
  text: string,
  file: string,
  origin: { config: string | null; split: string | null },
  source: string,
): LoadResult {
  const table = parseCsv(text, file);
  requireColumns(table, ['conv_id', 'user_input', 'toxicity', 'jailbreaking', 'human_annotation'], file);
  const out = new RowCollector(file, table.skipped);
  for (const { line, values } of table.rows) {
    const id = cellText(values, 'conv_id');
    const prompt = cellText(values, 'user_input');
    const toxicity = bit(cellText(values, 'toxicity'));
    const jailbreaking = bit(cellText(values, 'jailbreaking'));
    const human = bool(cellText(values, 'human_annotation'));
    if (id === null) {
      out.skip(line, 'conv_id', 'empty conv_id');
      continue;
    }
    if (prompt === null) {
      out.skip(line, 'user_input', 'empty user_input');
      continue;
    }
    if (toxicity === null) {
      out.skip(line, 'toxicity', `toxicity "${cellText(values, 'toxicity') ?? ''}" is not 0 or 1`);
      continue;
    }
    if (jailbreaking === null) {
      out.skip(line, 'jailbreaking', `jailbreaking "${cellText(values, 'jailbreaking') ?? ''}" is not 0 or 1`);
      continue;
    }
    if (human === null) {
      out.skip(
        line,
        'human_annotation',
        `human_annotation "${cellText(values, 'human_annotation') ?? ''}" is not True or False`,
      );
      continue;
    }
    out.add(line, {
      id: `toxicchat-${id}`,
      prompt,
      shouldRefuse: toxicity === 1,
      category: category(toxicity, jailbreaking),
      source: 'toxicchat',
      meta: {
        convId: id,
        toxicity,
        jailbreaking,
        humanAnnotation: human,
        modelOutput: cellText(values, 'model_output'),
        openaiModeration: cellText(values, 'openai_moderation'),
        config: origin.config,
        split: origin.split,
      },
    });
  }
  return { records: out.records, skipped: out.skipped, source };
}

const JudgeBenchFile = z.object({ dataset_url: z.string().optional(), instances: z.array(z.unknown()) });
const Vote = z.object({ majority_human: z.enum(['0', '1']) });
const JudgeBenchInstance = z.object({
  id: z.string().min(1),
  instance: z.string().min(1),
  annotations: z.object({ toxicity: Vote, jailbreaking: Vote }),
});

/**
 * JUDGE-BENCH's conversion of ToxicChat 0124 (human-annotated rows only). `line` in skipped rows is
 * the 1-based index into `instances`, since the JSON has no row lines.
 */
export function parseJudgeBench(text: string, file: string): LoadResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DatasetFormatError(file, null, null, `not valid JSON: ${(cause as Error).message}`);
  }
  const top = JudgeBenchFile.safeParse(json);
  if (!top.success) {
    throw new DatasetFormatError(
      file,
      null,
      'instances',
      'expected a JUDGE-BENCH file: an object with an "instances" array',
    );
  }
  const out = new RowCollector(file);
  top.data.instances.forEach((raw, i) => {
    const line = i + 1;
    const parsed = JudgeBenchInstance.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      out.skip(line, `instances[${i}].${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid instance');
      return;
    }
    const { id, instance, annotations } = parsed.data;
    const toxicity = Number(annotations.toxicity.majority_human);
    const jailbreaking = Number(annotations.jailbreaking.majority_human);
    out.add(line, {
      id: `toxicchat-${id}`,
      prompt: instance,
      shouldRefuse: toxicity === 1,
      category: category(toxicity, jailbreaking),
      source: 'toxicchat',
      meta: { convId: id, toxicity, jailbreaking, humanAnnotation: true, config: 'toxicchat0124', split: null },
    });
  });
  return { records: out.records, skipped: out.skipped, source: file };
}
