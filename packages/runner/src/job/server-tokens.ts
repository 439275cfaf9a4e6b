import { serverRoot } from '@deepconf-safety/vllm-client';
import type { ServerTokens } from '@deepconf-safety/run-store';

/*
 * Tokens the server generated that the client never counted (issue 17). vLLM keeps decoding an aborted request
 * until it notices the disconnect, and tokens already in flight when the client stops reading are generated
 * too; none reach the client's count, yet the GPU spent them. The server's Prometheus counter
 * `vllm:generation_tokens_total` (on /metrics) counts every generated token: its increase over the run minus the
 * tokens the client counted is what was generated after aborts (plus retried attempts' tokens). It is exact only
 * when this run is the server's only client; a judge on the same server or a resumed run makes it unsound, and
 * then it is recorded as unknown with the reason.
 */

const METRIC = 'vllm:generation_tokens_total';

/** Sum of the counter's samples for the model (every sample when none is labelled with a model_name). */
export function parseGenerationTokens(metrics: string, model: string): number | null {
  let all = 0;
  let forModel = 0;
  let seen = false;
  let labelled = false;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(METRIC)) continue;
    const m = /^vllm:generation_tokens_total(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    seen = true;
    all += value;
    const name = /model_name="((?:[^"\\]|\\.)*)"/.exec(m[1] ?? '')?.[1];
    if (name !== undefined) {
      labelled = true;
      if (JSON.parse(`"${name}"`) === model) forModel += value;
    }
  }
  if (!seen) return null;
  return labelled ? forModel : all;
}

export interface MeterIo {
  /** GET a URL's text with the API key, or null when it fails (a router without /metrics, a timeout). */
  getText(url: string): Promise<string | null>;
}

/** The counter on every endpoint, summed; null when any endpoint does not report it. */
async function scrape(baseUrls: readonly string[], model: string, io: MeterIo): Promise<number | null> {
  const values = await Promise.all(
    baseUrls.map(async (url) => {
      const text = await io.getText(`${serverRoot(url)}/metrics`);
      return text === null ? null : parseGenerationTokens(text, model);
    }),
  );
  return values.some((v) => v === null) ? null : (values as number[]).reduce((a, v) => a + v, 0);
}

export interface ServerTokenMeter {
  /** After the run: what the server generated beyond `clientTokens` (the run's counted tokens). */
  finish(clientTokens: number | null): Promise<ServerTokens>;
}

export const SOLE_CLIENT_CAVEAT =
  "from the server's vllm:generation_tokens_total over the run, exact only if this run was the server's only client";

/** Reads the counter now; `finish` reads it again. `unsound` names why the difference cannot be trusted. */
export async function startServerTokenMeter(
  options: { baseUrls: readonly string[]; model: string; unsound: string | null },
  io: MeterIo,
): Promise<ServerTokenMeter> {
  const before = options.unsound === null ? await scrape(options.baseUrls, options.model, io) : null;
  const unknown = (reason: string): ServerTokens => ({
    generatedDuringRun: null,
    clientTokens: null,
    afterAborts: null,
    method: 'prometheus-delta',
    caveat: SOLE_CLIENT_CAVEAT,
    unknownReason: reason,
  });
  return {
    async finish(clientTokens) {
      if (options.unsound !== null) return unknown(options.unsound);
      if (before === null) return unknown('the server reports no vllm:generation_tokens_total on /metrics');
      if (clientTokens === null) return unknown('the run did not finish, so its client token count is incomplete');
      const after = await scrape(options.baseUrls, options.model, io);
      if (after === null) return unknown('/metrics could not be read after the run');
      const generated = after - before;
      return {
        generatedDuringRun: generated,
        clientTokens,
        // Negative only when another client's counter reset or the server restarted: not a measurement then.
        afterAborts: generated >= clientTokens ? generated - clientTokens : null,
        method: 'prometheus-delta',
        caveat: SOLE_CLIENT_CAVEAT,
        unknownReason:
          generated >= clientTokens
            ? null
            : `the server counted fewer tokens (${generated}) than the client (${clientTokens}): restarted or another counter`,
      };
    },
  };
}

/** fetch with the key and a deadline. */
export function fetchMeterIo(apiKey: string | undefined, timeoutMs = 5_000): MeterIo {
  return {
    async getText(url) {
      try {
        const res = await fetch(url, {
          headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
          signal: AbortSignal.timeout(timeoutMs),
        });
        return res.ok ? await res.text() : null;
      } catch {
        return null;
      }
    },
  };
}
