import { RUN_FORMAT_VERSION } from './schema.js';

/** A parsed JSON object, or an empty one for anything else (the schema then names what is missing). */
const objectOr = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** Copies the keys that are present: an absent one takes the schema's default. */
function present(pairs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(pairs).filter(([, v]) => v !== undefined));
}

/**
 * Format 1 (before `formatVersion`): `config` held only the settings that decide results, with the derived
 * `instancesHash`, `server` and `confidenceMode` mixed in and `thinking` as a boolean; the operational options
 * sat in `runOptions` and the description at the top level.
 */
function fromFormat1(raw: Record<string, unknown>): Record<string, unknown> {
  const { config, runOptions, description, schemaVersion: _version, ...rest } = raw;
  const c = objectOr(config);
  const o = objectOr(runOptions);
  const server = objectOr(raw['server']);
  const thinking = c['thinking'] === true ? 'on' : c['thinking'] === false ? 'off' : undefined;
  return {
    ...rest,
    formatVersion: 2,
    config: present({
      model: c['model'],
      benchmark: c['benchmark'],
      numInstances: c['numInstances'],
      stratify: c['stratify'],
      seed: c['seed'],
      endpoint: c['endpoint'],
      traces: c['traces'],
      warmup: c['warmup'],
      window: c['window'],
      keepPercent: c['keepPercent'],
      calibration: c['calibration'],
      // Format 1 stored null here under per-instance calibration.
      calibrationInstances: c['calibrationInstances'] ?? undefined,
      earlyStop: c['earlyStop'],
      consensus: c['consensus'],
      maxTokens: c['maxTokens'],
      temperature: c['temperature'],
      topP: c['topP'],
      topK: c['topK'],
      topLogprobs: c['topLogprobs'],
      thinking,
      system: c['system'],
      splitPercentile: c['splitPercentile'],
      // Format 1 predates a selectable decision confidence: those runs decided with the lowest-group definition,
      // not the schema's later default (vote-share).
      decisionConfidence: c['decisionConfidence'] ?? 'lowest-group',
      output: o['output'],
      baseUrls: server['baseUrls'],
      apiKeyEnv: o['apiKeyEnv'],
      concurrency: o['concurrency'],
      clientThreads: o['clientThreads'],
      retries: o['retries'],
      config: o['config'],
      description,
    }),
    derived: present({ instancesHash: c['instancesHash'], server: c['server'], confidenceMode: c['confidenceMode'] }),
  };
}

/**
 * Format 2 before --decision-confidence (a722e1f, 2026-12-02): the config, written with every default filled in,
 * has no `decisionConfidence`, and those runs decided with the lowest-group definition. Without this the
 * schema would fill in the later default (vote-share) and a replay or report would misread them.
 */
function withinFormat2(raw: Record<string, unknown>): Record<string, unknown> {
  const config = objectOr(raw['config']);
  if (raw['config'] === undefined || config['decisionConfidence'] !== undefined) return raw;
  return { ...raw, config: { ...config, decisionConfidence: 'lowest-group' } };
}

export type MigrationResult = { ok: true; manifest: unknown; from: number } | { ok: false; reason: string };

/** Brings a parsed manifest.json of any known format to the current one ({@link RUN_FORMAT_VERSION}). */
export function migrateManifest(value: unknown): MigrationResult {
  const raw = objectOr(value);
  const version = raw['formatVersion'] ?? 1;
  if (version === RUN_FORMAT_VERSION) return { ok: true, manifest: withinFormat2(raw), from: RUN_FORMAT_VERSION };
  if (version === 1) return { ok: true, manifest: fromFormat1(raw), from: 1 };
  if (typeof version === 'number' && version > RUN_FORMAT_VERSION) {
    return {
      ok: false,
      reason: `formatVersion ${version} was written by a newer deepconf-safety (this one reads up to ${RUN_FORMAT_VERSION}); upgrade to read it`,
    };
  }
  return { ok: false, reason: `formatVersion ${JSON.stringify(version)} is not a known run directory format` };
}
