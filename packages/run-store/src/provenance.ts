import { z } from 'zod';

/*
 * What a reviewer asks of a run besides its settings (issue 17): the bytes of the dataset read, what the server
 * said it serves and which vLLM, how the deploy started it, the tool's commit, and the DeepConf scale. Every
 * field is nullable with a reason where a value may be unknown, and the whole block is optional: run
 * directories written before it still read (no format bump).
 */

/** DeepConf's online defaults: 16 warmup traces of a 256-trace budget per problem (`deepthink()` in the official wrapper; the paper runs N_init = 16). */
export const PAPER_SCALE = { warmup: 16, traces: 256 } as const;

export const DatasetFileSchema = z.looseObject({
  /** As the loader read it (a shipped file, the user's path, or a download's cached copy). */
  path: z.string(),
  sha256: z.string().nullable(),
  bytes: z.number().int().nonnegative().nullable(),
  /** Why the hash is missing (the file could not be read again). */
  error: z.string().nullable().optional(),
});

export const EndpointProvenanceSchema = z.looseObject({
  /** Redacted base URL. */
  baseUrl: z.string(),
  /** `root` of the model card in /v1/models (vLLM: the path or hub id it loaded); null when not reported. */
  root: z.string().nullable(),
  /** /v1/models reports no revision; null unless a future server does. */
  revision: z.string().nullable(),
  maxModelLen: z.number().int().nullable(),
  /** `GET /version`; null when the endpoint has no /version (said in `notes`). */
  vllmVersion: z.string().nullable(),
});

export const DeployProvenanceSchema = z.looseObject({
  /** The deployment's name under the deploy state directory. */
  name: z.string(),
  provider: z.string().nullable(),
  instanceType: z.string().nullable(),
  model: z.string().nullable(),
  servedModelName: z.string().nullable(),
  /** The vLLM arguments the deploy recorded; the ones it did not record are absent (see `notes`). */
  vllmArgs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

export const ProvenanceSchema = z.looseObject({
  datasetFiles: z.array(DatasetFileSchema),
  endpoints: z.array(EndpointProvenanceSchema),
  /** One per deployment the run used (empty when the server was not started by npm run deploy:lambda). */
  deploy: z.array(DeployProvenanceSchema),
  git: z.looseObject({ commit: z.string().nullable(), dirty: z.boolean().nullable() }),
  scale: z.looseObject({
    warmup: z.number().int(),
    traces: z.number().int(),
    paper: z.looseObject({ warmup: z.number().int(), traces: z.number().int() }),
  }),
  /** What could not be known, one sentence each. */
  notes: z.array(z.string()),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** Tokens the server generated that the client did not count (after aborts, retried attempts); see the CLI's server-tokens.ts. */
export const ServerTokensSchema = z.looseObject({
  /** Increase of the server's vllm:generation_tokens_total over the run (every endpoint). */
  generatedDuringRun: z.number().nullable(),
  /** The run's tokens as the client counted them (results.json overall.total_tokens). */
  clientTokens: z.number().nullable(),
  /** generatedDuringRun − clientTokens; null when unknown (see unknownReason). */
  afterAborts: z.number().nullable(),
  method: z.literal('prometheus-delta'),
  caveat: z.string(),
  unknownReason: z.string().nullable(),
});
export type ServerTokens = z.infer<typeof ServerTokensSchema>;
