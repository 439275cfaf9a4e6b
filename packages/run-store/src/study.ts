import { z } from 'zod';

// study.json: the state of a study (a grid of ordinary run directories, one per cell), written by the runner's
// study module and read by reporting. It lives here, in the on-disk contract, so neither reads the other's code.

export const STUDY_FILE = 'study.json';
export const STUDY_SCHEMA_VERSION = 1;

/** Flag values a study passes to an experiment cell (`--flag value`, `--flag` / `--no-flag` for booleans). */
export const FlagValueSchema = z.union([z.string(), z.number(), z.boolean()]);
export type FlagValue = z.infer<typeof FlagValueSchema>;

export const CellStateSchema = z.enum(['pending', 'running', 'done', 'failed']);
export type CellState = z.infer<typeof CellStateSchema>;

export const StudyCellSchema = z.looseObject({
  /** `<model>/<benchmark>/<setting>/seed-<n>`, also the cell's directory relative to the study directory. */
  id: z.string(),
  model: z.string(),
  benchmark: z.string(),
  setting: z.string(),
  seed: z.number().int(),
  state: CellStateSchema,
  /** The endpoint (base URL) the cell last ran on. */
  endpoint: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** Wall time over every session that worked on the cell. */
  wallSeconds: z.number().nonnegative(),
  /** Tokens generated (results.json overall.total_tokens); null until done. */
  tokens: z.number().nullable(),
  /** Endpoint time the cell held: wall seconds x the endpoint's GPUs / cells sharing it. */
  gpuSeconds: z.number().nonnegative(),
  /** gpuSeconds x the endpoint's hourly price; null without a price (emulator, unpriced server). */
  costUsd: z.number().nullable(),
  /** sha256 of results.json when the cell finished: a resume leaves the cell alone only while it matches. */
  resultsSha256: z.string().nullable(),
  emulated: z.boolean().nullable(),
  error: z.string().nullable(),
});
export type StudyCell = z.infer<typeof StudyCellSchema>;

export const StudyEndpointSchema = z.looseObject({
  url: z.string(),
  /** Model names its /v1/models listed. */
  models: z.array(z.string()),
  emulated: z.boolean(),
  hourlyPriceUsd: z.number().nullable(),
});
export type StudyEndpoint = z.infer<typeof StudyEndpointSchema>;

export const StudyStatusSchema = z.enum(['running', 'completed', 'interrupted', 'failed', 'budget_stopped']);

export const StudyFileSchema = z.looseObject({
  schemaVersion: z.number().int(),
  name: z.string(),
  status: StudyStatusSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The study file as given (models, benchmarks, settings, seeds, options); `configHash` guards --resume. */
  config: z.record(z.string(), z.unknown()),
  configHash: z.string(),
  grid: z.looseObject({
    models: z.array(z.string()),
    benchmarks: z.array(z.string()),
    settings: z.record(z.string(), z.record(z.string(), FlagValueSchema)),
    seeds: z.array(z.number().int()),
    /** The setting the others are compared with (by default one with early-stop false, else the first). */
    reference: z.string(),
  }),
  endpoints: z.array(StudyEndpointSchema),
  budget: z.looseObject({ maxCostUsd: z.number().nullable(), spentUsd: z.number() }),
  cells: z.array(StudyCellSchema),
});
export type StudyFile = z.infer<typeof StudyFileSchema>;
