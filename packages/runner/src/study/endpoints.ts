import { joinUrl } from '@deepconf-safety/vllm-client';
import type { StudyEndpoint } from '@deepconf-safety/run-store';
import type { StudyConfig } from './config.js';
import { StudyEndpointError } from './errors.js';

// Which endpoint serves which model is asked of the endpoints themselves (/v1/models), before any cell
// starts: a typo in a model name must not surface as the 40th cell's 404 after an hour of GPU time.

/** What /v1/models said: the model ids, and whether the server is the project's emulator. */
export interface ModelListing {
  models: string[];
  emulated: boolean;
}

/** GET <baseUrl>/models; injected in tests. */
export type ListModels = (baseUrl: string) => Promise<ModelListing>;

const LIST_TIMEOUT_MS = 15_000;

/** The default ListModels: fetch with a deadline and an optional bearer key. */
export function httpListModels(apiKey?: string): ListModels {
  return async (baseUrl) => {
    const res = await fetch(joinUrl(baseUrl, 'models'), {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(LIST_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { data?: { id?: unknown; owned_by?: unknown; emulator?: unknown }[] };
    const data = Array.isArray(body.data) ? body.data : [];
    return {
      models: data.flatMap((m) => (typeof m.id === 'string' ? [m.id] : [])),
      emulated: data.some((m) => m.owned_by === 'deepconf-safety-emulator' || m.emulator !== undefined),
    };
  };
}

/** Endpoints asked for each model: the study file's per-model list, else its shared list, else `fallback`. */
export function endpointsAsked(config: StudyConfig, fallback: readonly string[]): Map<string, string[]> {
  const asked = new Map<string, string[]>();
  for (const model of config.models) {
    const e = config.endpoints;
    const own = e === undefined ? undefined : Array.isArray(e) ? e : e[model];
    asked.set(model, [...(own ?? fallback)]);
  }
  return asked;
}

/**
 * Lists the models of every endpoint asked and maps each study model to the endpoints that serve it.
 * @throws StudyEndpointError naming each unserved model and the endpoints asked (with their answers).
 */
export async function discoverEndpoints(
  asked: ReadonlyMap<string, readonly string[]>,
  listModels: ListModels,
  priceOf: (url: string) => number | null,
): Promise<{ endpoints: StudyEndpoint[]; servers: Map<string, string[]> }> {
  const urls = [...new Set([...asked.values()].flat())];
  const listings = await Promise.all(
    urls.map(async (url) => {
      try {
        return { url, listing: await listModels(url), error: null };
      } catch (e) {
        return { url, listing: null, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  const byUrl = new Map(listings.map((l) => [l.url, l]));
  const servers = new Map<string, string[]>();
  const problems: string[] = [];
  for (const [model, list] of asked) {
    const serving = list.filter((u) => byUrl.get(u)?.listing?.models.includes(model) === true);
    servers.set(model, serving);
    if (serving.length === 0) {
      const answers = list.map((u) => {
        const l = byUrl.get(u);
        return l?.listing
          ? `${u} serves ${l.listing.models.join(', ') || 'nothing'}`
          : `${u} did not answer (${l?.error ?? 'not asked'})`;
      });
      problems.push(
        `model "${model}" is served by none of the endpoints asked: ${answers.join('; ') || 'none were given'}`,
      );
    }
  }
  if (problems.length > 0) throw new StudyEndpointError(problems.join('\n'));
  const endpoints = listings.flatMap((l) =>
    l.listing
      ? [{ url: l.url, models: l.listing.models, emulated: l.listing.emulated, hourlyPriceUsd: priceOf(l.url) }]
      : [],
  );
  return { endpoints, servers };
}
