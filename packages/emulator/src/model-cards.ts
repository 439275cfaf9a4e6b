import { hashString } from './prng.js';

/** What every model card and /version say, so clients can label emulated runs. */
export const EMULATOR_NAME = 'deepconf-safety-emulator';
export const EMULATOR_VERSION = `0.0.0-${EMULATOR_NAME}`;

export interface ModelCardsInput {
  readonly models: readonly string[];
  readonly created: number;
  readonly maxModelLen: number;
  readonly seed: number;
}

function modelCard(id: string, m: ModelCardsInput): Record<string, unknown> {
  return {
    id,
    object: 'model',
    created: m.created,
    owned_by: EMULATOR_NAME,
    root: EMULATOR_NAME,
    parent: null,
    max_model_len: m.maxModelLen,
    permission: [
      {
        id: `modelperm-${hashString(id).toString(16)}`,
        object: 'model_permission',
        created: m.created,
        allow_create_engine: false,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ],
    emulator: { name: EMULATOR_NAME, version: EMULATOR_VERSION, seed: m.seed },
  };
}

/** The /v1/models body: one card per served model, each marked as emulated. */
export function modelsBody(m: ModelCardsInput): string {
  return JSON.stringify({ object: 'list', data: m.models.map((id) => modelCard(id, m)) });
}
