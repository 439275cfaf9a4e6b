import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { z } from 'zod';
import { JUDGE_CAPABILITIES } from '@deepconf-safety/refusal';
import {
  DEFAULT_MODEL,
  RunConfigObject,
  RunConfigSchema,
  type RunConfig,
  type RunConfigKey,
} from '@deepconf-safety/run-store';

export { DEFAULT_MODEL };
/** The resolved options of `npm run experiment` (flags over config file over defaults): the run-store's RunConfig. */
export type ExperimentOptions = RunConfig;

/** Bad option values: names the flag (or config file) and says what to do. */
export class OptionError extends Error {
  override name = 'OptionError';
}

/** Runs a yargs parser so that every complaint it has becomes an {@link OptionError} naming the flag. */
export async function parseOrOptionError(parser: Argv): Promise<Record<string, unknown>> {
  try {
    return (await parser
      .exitProcess(false)
      .fail((message: string | undefined, error: Error | undefined) => {
        throw error instanceof OptionError
          ? error
          : new OptionError(`${message ?? error?.message ?? 'invalid options'} (see --help)`);
      })
      .parseAsync()) as Record<string, unknown>;
  } catch (error) {
    throw error instanceof OptionError ? error : new OptionError((error as Error).message);
  }
}

/** `object`: a structured value, set in a config file only (no command-line flag). */
type FlagKind = 'number' | 'string' | 'boolean' | 'list' | 'object';

/** One command-line flag, derived from a field of RunConfigSchema. */
export interface FlagSpec {
  key: RunConfigKey;
  flag: string;
  kind: FlagKind;
  describe: string;
  defaultValue: unknown;
}

interface JsonSchemaNode {
  type?: string;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  description?: string;
  default?: unknown;
  flag?: string;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function kindOf(node: JsonSchemaNode): { kind: FlagKind; choices: unknown[] | null } {
  const typed = node.type !== undefined ? node : ((node.anyOf ?? []).find((n) => n.type !== 'null') ?? {});
  if (typed.type === 'array') return { kind: 'list', choices: null };
  if (typed.type === 'object') return { kind: 'object', choices: null };
  if (typed.type === 'boolean') return { kind: 'boolean', choices: null };
  if (typed.type === 'number' || typed.type === 'integer') return { kind: 'number', choices: null };
  return { kind: 'string', choices: typed.enum ?? null };
}

/** The flags, one per RunConfigSchema field: adding a field there adds its flag here. */
export const FLAGS: readonly FlagSpec[] = (() => {
  const schema = z.toJSONSchema(RunConfigObject, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, JsonSchemaNode>;
  };
  return Object.entries(schema.properties).map(([key, node]) => {
    const { kind, choices } = kindOf(node);
    const describe = `${node.description ?? ''}${choices === null ? '' : ` (${choices.join(' or ')})`}`;
    return { key: key as RunConfigKey, flag: node.flag ?? kebab(key), kind, describe, defaultValue: node.default };
  });
})();
const BY_FLAG = new Map(FLAGS.map((f) => [f.flag, f]));
const BY_KEY = new Map(FLAGS.map((f) => [f.key, f]));

export function buildParser(argv: readonly string[]): Argv {
  let parser = yargs([...argv])
    .scriptName('npm run experiment --')
    .usage(
      '$0 [options]\n\nDeepConf online over a safety benchmark: per prompt, warmup traces calibrate a confidence threshold, the other traces stream and stop early when their sliding-window confidence falls below it, and a confidence-weighted vote decides refuse / comply. With no --base-url and no deployment from `npm run deploy:lambda`, a built-in emulator is started (and the run is marked emulated).',
    );
  for (const f of FLAGS) {
    if (f.kind === 'object') continue;
    // Values stay text here: the one schema converts and checks flags and config file alike.
    const shown =
      f.defaultValue === null ||
      f.defaultValue === undefined ||
      (Array.isArray(f.defaultValue) && f.defaultValue.length === 0);
    parser = parser.option(f.flag, {
      // Numbers keep no yargs type (help would call them strings) and stay text: parse-numbers is off below.
      ...(f.kind === 'boolean' ? { type: 'boolean' as const } : f.kind === 'number' ? {} : { type: 'string' as const }),
      ...(f.kind === 'list' ? { array: true } : {}),
      describe: f.describe,
      ...(shown ? {} : { defaultDescription: JSON.stringify(f.defaultValue) }),
    });
  }
  return parser
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .strictOptions()
    .help()
    .version(false)
    .wrap(Math.min(120, process.stdout.columns ?? 100));
}

/** Where each value came from, for messages that name it. */
type Source = { from: 'flag'; text: unknown } | { from: 'file'; file: string } | { from: 'default' };

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new OptionError(
      `--config ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a JSON file such as experiments/xstest_full.json`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new OptionError(`--config ${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(
      `--config ${file}: must hold one JSON object of options, e.g. {"benchmark": "xstest", "traces": 8}`,
    );
  }
  return value as Record<string, unknown>;
}

/** A config file's keys are the flags' names; `"no-early-stop": true` is `"early-stop": false`, as on the command line. */
function configFileValues(file: string): Map<RunConfigKey, unknown> {
  const out = new Map<RunConfigKey, unknown>();
  for (const [name, value] of Object.entries(readConfigFile(file))) {
    const negated = /^no-(.+)$/.exec(name)?.[1];
    const negatedSpec = negated === undefined ? undefined : BY_FLAG.get(negated);
    if (negatedSpec?.kind === 'boolean') {
      if (typeof value !== 'boolean')
        throw new OptionError(`--config ${file}: "${name}" must be true or false (got ${JSON.stringify(value)})`);
      out.set(negatedSpec.key, !value);
      continue;
    }
    const spec = BY_FLAG.get(name);
    if (spec === undefined || spec.key === 'config') {
      const hint = BY_KEY.get(name as RunConfigKey) ?? BY_FLAG.get(kebab(name));
      throw new OptionError(
        `--config ${file}: unknown option "${name}"${hint ? `; did you mean "${hint.flag}"?` : ''} (keys are the flags' names, see --help)`,
      );
    }
    out.set(spec.key, value);
  }
  return out;
}

/** Command-line text to the field's type where it reads as one; anything else is left for the schema to refuse. */
function fromText(spec: FlagSpec, value: unknown): unknown {
  if (spec.kind !== 'number' || typeof value !== 'string') return value;
  const trimmed = value.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : value;
}

function flagValues(raw: Record<string, unknown>): Map<RunConfigKey, unknown> {
  const out = new Map<RunConfigKey, unknown>();
  for (const spec of FLAGS) {
    if (spec.kind === 'object') continue;
    const value = raw[spec.flag];
    if (value === undefined) continue;
    if (Array.isArray(value) && spec.kind !== 'list') {
      throw new OptionError(
        `--${spec.flag}: given more than once (${value.map((v) => JSON.stringify(v)).join(', ')}); give it once (a flag overrides the config file by itself)`,
      );
    }
    out.set(spec.key, fromText(spec, value));
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, merged: Record<string, unknown>, sources: Map<string, Source>): string {
  const key = String(issue.path[0] ?? '');
  const spec = BY_KEY.get(key as RunConfigKey);
  const source = sources.get(key) ?? { from: 'default' };
  const flag = `--${spec?.flag ?? key}`;
  const value = issue.path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    merged,
  );
  const got = source.from === 'flag' && issue.path.length === 1 ? source.text : value;
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  if (source.from === 'file')
    return `--config ${source.file}: "${spec?.flag ?? key}" must be ${issue.message} (got ${shown})`;
  if (source.from === 'default')
    return `${flag}: must be ${issue.message} (it is ${JSON.stringify(spec?.defaultValue)} by default; give it explicitly)`;
  return `${flag}: must be ${issue.message} (got ${shown})`;
}

/**
 * Parses and checks the command line and its --config file into one RunConfig; `null` when yargs printed help.
 * Both go through RunConfigSchema, so a wrong type is refused the same way, naming the flag or the file's key.
 */
export async function parseExperimentOptions(argv: readonly string[]): Promise<ExperimentOptions | null> {
  const raw = await parseOrOptionError(buildParser(argv));
  if (raw['help'] === true) return null;
  const flags = flagValues(raw);
  const configFile = flags.get('config');
  const file =
    typeof configFile === 'string' && configFile !== ''
      ? configFileValues(configFile)
      : new Map<RunConfigKey, unknown>();
  const sources = new Map<string, Source>();
  const merged: Record<string, unknown> = {};
  for (const [key, value] of file) {
    merged[key] = value;
    sources.set(key, { from: 'file', file: configFile as string });
  }
  for (const [key, value] of flags) {
    merged[key] = value;
    sources.set(key, { from: 'flag', text: raw[BY_KEY.get(key)?.flag ?? key] });
  }
  // --retry-errors works on an existing run: it implies --resume.
  if (merged['retryErrors'] === true && merged['resume'] === undefined) merged['resume'] = true;
  const parsed = RunConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const [first] = parsed.error.issues;
    throw new OptionError(first === undefined ? 'invalid options' : describeIssue(first, merged, sources));
  }
  const o = parsed.data;
  if (o.refusalSource !== 'detector' && o.judge !== 'none' && !JUDGE_CAPABILITIES[o.judge].refusal) {
    throw new OptionError(
      `--refusal-source ${o.refusalSource}: --judge ${o.judge} rates harm, not refusal; use --judge wildguard or xstest, or --refusal-source detector`,
    );
  }
  return o;
}
