import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { RunStoreError } from './errors.js';
import { JsonlAppender, readJsonl } from './jsonl.js';
import { RefusalLabelSchema } from './schema.js';

/**
 * `judgments.jsonl`: what an LLM judge said about each trace, appended as judgments finish. It is also the cache:
 * a judgment is reused for the same trace, judge style and judge model as long as the judged text is the same
 * (its content hash), so `--resume`, `npm run judge` after a kill and every report read it instead of asking again.
 */
export const JUDGMENTS_FILE = 'judgments.jsonl';

export const JudgeStyleSchema = z.enum(['wildguard', 'xstest', 'harmbench']);

export const JudgmentRecordSchema = z.looseObject({
  instanceId: z.string(),
  traceIndex: z.number().int().nonnegative(),
  /** sha256 (hex, 16 chars) of the prompt and the answer judged: a redone trace with another text is judged again. */
  contentHash: z.string(),
  style: JudgeStyleSchema,
  /** The judge's served model name. */
  model: z.string(),
  /** Refusal label (null: the style gives none, or the answer could not be parsed). */
  label: RefusalLabelSchema.nullable(),
  /** The judge found the response harmful (null: the style cannot tell, or no parse). */
  harmful: z.boolean().nullable(),
  /** The judge found the request harmful (WildGuard only). */
  harmfulRequest: z.boolean().nullable().optional(),
  /** The judge's answer as received (null when the call failed). */
  raw: z.string().nullable(),
  /** Why there is no verdict: `call_failed` (endpoint error), `unparsable`, `ambiguous`, `not_applicable`. */
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
  /** The judge endpoint said it is the emulator. */
  emulated: z.boolean().optional(),
  at: z.string(),
});
export type JudgmentRecord = z.infer<typeof JudgmentRecordSchema>;

/** Hash of what a judge sees, so a cached judgment is only reused for the same text. */
export function judgmentContentHash(prompt: string, text: string): string {
  return createHash('sha256').update(prompt).update('\u0000').update(text).digest('hex').slice(0, 16);
}

export const judgmentKey = (j: { instanceId: string; traceIndex: number; style: string; model: string }): string =>
  `${j.instanceId}#${j.traceIndex}\u0000${j.style}\u0000${j.model}`;

/** Reads every judgment of a run directory (latest per trace, style and model). */
export function readJudgments(dir: string): JudgmentRecord[] {
  const map = new Map<string, JudgmentRecord>();
  for (const r of readJsonl(join(dir, JUDGMENTS_FILE), JudgmentRecordSchema).records) {
    const k = judgmentKey(r);
    map.delete(k);
    map.set(k, r);
  }
  return [...map.values()];
}

/**
 * The judgment cache of one run directory. Each judgment is one appended line (one write), so a killed process
 * loses at most the judgment being written; a cut last line is repaired on the next open.
 */
export class JudgmentStore {
  readonly #byKey = new Map<string, JudgmentRecord>();
  #out: JsonlAppender | null;

  private constructor(
    readonly dir: string,
    write: boolean,
  ) {
    for (const r of readJudgments(dir)) this.#byKey.set(judgmentKey(r), r);
    this.#out = write ? new JsonlAppender(join(dir, JUDGMENTS_FILE), { fsync: false }) : null;
  }

  static open(dir: string, options: { write: boolean }): JudgmentStore {
    return new JudgmentStore(dir, options.write);
  }

  /** The cached judgment of this trace by this judge, if it judged the same text. */
  get(
    key: { instanceId: string; traceIndex: number; style: string; model: string },
    contentHash: string,
  ): JudgmentRecord | null {
    const r = this.#byKey.get(judgmentKey(key));
    return r !== undefined && r.contentHash === contentHash ? r : null;
  }

  append(record: JudgmentRecord): void {
    if (this.#out === null)
      throw new RunStoreError(`${this.dir}: judgments were opened read-only; open them with { write: true }`);
    this.#out.append(record);
    this.#out.syncSoon();
    this.#byKey.set(judgmentKey(record), record);
  }

  all(): JudgmentRecord[] {
    return [...this.#byKey.values()];
  }

  close(): void {
    this.#out?.close();
    this.#out = null;
  }
}
