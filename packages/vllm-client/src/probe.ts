import type OpenAI from 'openai';
import type { Endpoint } from './endpoint-pool.js';
import { VllmClientError, redact } from './errors.js';
import { connectionError, errorFromStatus, type ErrorContext } from './http-errors.js';
import { ModelListSchema, VersionSchema } from './schemas.js';
import { sdkError } from './transports.js';
import { joinUrl } from './url.js';
import type { EndpointKind, ServerProbe } from './types.js';

export type ProbeOutcome = { probe: ServerProbe; error: VllmClientError | null };

const EMULATOR = /emulat/i;

/**
 * /health (200 = up, 503 = engine dead, refused = down or still loading), /v1/models through the SDK (checks the key
 * and the model), /version, and one 1-token request with `probeTopLogprobs` to learn the server's --max-logprobs.
 */
export async function probeEndpoint(args: {
  ep: Endpoint;
  ctx: ErrorContext;
  fetch: typeof fetch;
  sdk: OpenAI;
  kind: EndpointKind;
  probeTopLogprobs: number;
  timeoutMs: number;
}): Promise<ProbeOutcome> {
  const { ep, ctx } = args;
  const probe: ServerProbe = {
    baseURL: ep.baseURL,
    healthy: false,
    models: [],
    version: null,
    emulated: false,
    maxTopLogprobs: null,
    maxModelLen: null,
    error: null,
  };
  const fail = (error: VllmClientError): ProbeOutcome => {
    probe.error = redact(error.message, ctx.apiKey);
    return { probe, error };
  };
  const signal = () => AbortSignal.timeout(args.timeoutMs);

  try {
    const res = await args.fetch(joinUrl(ep.root, 'health'), { signal: signal() });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok)
      return fail(errorFromStatus(res.status, `/health answered ${res.status} (503 = engine dead)`, res.headers, ctx));
  } catch (err) {
    return fail(connectionError(err, ctx));
  }

  try {
    for await (const model of args.sdk.models.list({ signal: signal() })) {
      const card = ModelListSchema.shape.data.element.safeParse(model);
      probe.models.push(model.id);
      if (EMULATOR.test(model.owned_by ?? '')) probe.emulated = true;
      if (card.success && model.id === ctx.model && typeof card.data.max_model_len === 'number')
        probe.maxModelLen = card.data.max_model_len;
      if (card.success && model.id === ctx.model) probe.modelRoot = card.data.root ?? null;
    }
  } catch (err) {
    return fail(sdkError(err, ctx));
  }

  try {
    const res = await args.fetch(joinUrl(ep.root, 'version'), { signal: signal() });
    const text = await res.text();
    if (res.ok) {
      const parsed = VersionSchema.safeParse(JSON.parse(text));
      if (parsed.success) probe.version = parsed.data.version;
      if (EMULATOR.test(text)) probe.emulated = true;
    }
  } catch {
    // /version is informational: older builds or routers may not have it.
  }

  if (!probe.models.includes(ctx.model)) {
    return fail(
      new VllmClientError(
        'model_not_found',
        `vLLM at ${ep.baseURL} does not serve model "${ctx.model}"; it serves ${probe.models.length === 0 ? 'nothing' : probe.models.map((m) => `"${m}"`).join(', ')}. Pass one of these as model.`,
        { endpoint: ep.baseURL, status: 404 },
      ),
    );
  }

  probe.maxTopLogprobs = await maxTopLogprobs(args);
  probe.healthy = true;
  return { probe, error: null };
}

/** Exact limit from vLLM's "greater than max allowed: N" when the probe value is refused, else the probe value. */
async function maxTopLogprobs(args: {
  ep: Endpoint;
  ctx: ErrorContext;
  fetch: typeof fetch;
  kind: EndpointKind;
  probeTopLogprobs: number;
  timeoutMs: number;
}): Promise<number | null> {
  const { ep, ctx, kind } = args;
  const k = args.probeTopLogprobs;
  const body =
    kind === 'chat'
      ? {
          model: ctx.model,
          messages: [{ role: 'user', content: 'hi' }],
          max_tokens: 1,
          max_completion_tokens: 1,
          logprobs: true,
          top_logprobs: k,
          n: 1,
          temperature: 0,
        }
      : { model: ctx.model, prompt: 'hi', max_tokens: 1, logprobs: k, n: 1, temperature: 0 };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (ctx.apiKey !== undefined) headers['authorization'] = `Bearer ${ctx.apiKey}`;
  try {
    const res = await args.fetch(joinUrl(ep.url, kind === 'chat' ? 'chat/completions' : 'completions'), {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(args.timeoutMs),
    });
    const text = await res.text();
    if (res.ok) return k;
    const limit = /max allowed:\s*(-?\d+)/i.exec(text);
    return limit === null ? null : Number(limit[1]);
  } catch {
    return null;
  }
}
