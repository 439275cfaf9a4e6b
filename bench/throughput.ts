// Stream throughput (issue 9 §1): client CPU per token through the whole path, against raw JSON.parse of the very
// payload bytes of the same streams, timed in the same process in alternating rounds.
import PQueue from 'p-queue';
import { StopMonitor } from '@deepconf-safety/runner';
import { VllmClient, type TraceRequest } from '@deepconf-safety/vllm-client';
import { buildBody } from '@deepconf-safety/vllm-client/internal';
import type { InstanceInput } from '@deepconf-safety/runner';
import { BenchMeasurementError } from './errors.js';
import type { EmulatorProcess } from './emulator-process.js';
import { traceRequest } from './prompts.js';
import { cpuSeconds, median } from './stats.js';

export type ThroughputOptions = {
  /** Stop adding traces once the captured streams hold this many tokens. */
  tokens: number;
  /** Alternating rounds of (client pass, JSON.parse pass); medians are reported. */
  rounds: number;
  /** Traces in flight during a client pass. */
  concurrency: number;
  /** Rounds of the openai-SDK transport (slower; 0 = skip). */
  sdkRounds: number;
  /** Sliding window of the stop check. */
  window: number;
};

export type ThroughputResult = {
  /** Tokens per client CPU-second through the lean path (median of rounds). */
  tokensPerSecond: number;
  /** Tokens per CPU-second of JSON.parse alone over the same payloads (median of rounds). */
  jsonParseTokensPerSecond: number;
  /** Median over rounds of client rate / JSON.parse rate. */
  ratio: number;
  details: {
    traces: number;
    tokens: number;
    payloads: number;
    bytesPerToken: number;
    rounds: number;
    concurrency: number;
    /** Tokens per wall-second of a client pass (bounded by the emulator, which shares the machine). */
    wallTokensPerSecond: number;
    /** Share of one core the client used during a pass (CPU s / wall s). */
    clientCoreShare: number;
    sdk: { tokensPerSecond: number; ratio: number; rounds: number } | null;
    /** Trace attempts beyond the first, over all passes. */
    retries: number;
    perRound: { client: number; jsonParse: number; ratio: number; wall: number }[];
  };
};

type Captured = { payloads: string[]; tokens: number; bytes: number };

const SSE_DATA = 'data: ';

/** Fetches one stream raw and keeps its `data:` payloads exactly as sent (minus `[DONE]`). */
async function captureRaw(baseURL: string, model: string, request: TraceRequest): Promise<Captured> {
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(buildBody('chat', model, request)),
  });
  if (!res.ok)
    throw new BenchMeasurementError(
      `raw capture: the emulator answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
    );
  const text = await res.text();
  const payloads: string[] = [];
  let tokens = 0;
  for (const event of text.split('\n\n')) {
    if (!event.startsWith(SSE_DATA)) continue;
    const p = event.slice(SSE_DATA.length);
    if (p === '[DONE]') continue;
    payloads.push(p);
    // Counted here, outside the timed loop, so the baseline times JSON.parse alone.
    const o = JSON.parse(p) as { choices?: { logprobs?: { content?: unknown[] | null } | null }[] };
    tokens += o.choices?.[0]?.logprobs?.content?.length ?? 0;
  }
  return { payloads, tokens, bytes: Buffer.byteLength(text) };
}

/** Runs the throughput benchmark against a running emulator (started as fast as possible). */
export async function measureThroughput(
  emu: EmulatorProcess,
  prompts: readonly InstanceInput[],
  o: ThroughputOptions,
): Promise<ThroughputResult> {
  const requests: TraceRequest[] = [];
  const payloads: string[] = [];
  let tokens = 0;
  let bytes = 0;
  // Captured 8 at a time: the capture is not timed, only its payloads are kept.
  while (tokens < o.tokens) {
    const batch = Array.from({ length: 8 }, (_, j) => traceRequest(prompts, requests.length + j));
    const got = await Promise.all(batch.map((r) => captureRaw(emu.baseURL, emu.model, r)));
    for (let j = 0; j < batch.length; j++) {
      const g = got[j] as Captured;
      requests.push(batch[j] as TraceRequest);
      payloads.push(...g.payloads);
      tokens += g.tokens;
      bytes += g.bytes;
    }
  }

  let retries = 0;
  const clientPass = async (transport: 'lean' | 'sdk') => {
    // Default retries: a keep-alive socket the server closed while idle fails the next request before any byte, and
    // the client's retry is part of the real path (counted in details.retries).
    const client = new VllmClient({ baseURLs: [emu.baseURL], model: emu.model, transport, env: {} });
    const queue = new PQueue({ concurrency: o.concurrency });
    let seen = 0;
    const run = await cpuSeconds(async () => {
      await Promise.all(
        requests.map((r) =>
          queue.add(async () => {
            // The runner's stop check, with a threshold no window mean can fall below: every token pays for it.
            const monitor = new StopMonitor(o.window, 0);
            const res = await client.runTrace(r, {
              onToken: (t) => !Number.isNaN(t.confidence) && monitor.push(t.confidence),
            });
            seen += res.tokens;
            retries += res.attempts - 1;
          }),
        ),
      );
    });
    if (seen !== tokens)
      throw new BenchMeasurementError(
        `client pass (${transport}) saw ${seen} tokens, the raw capture ${tokens}: the streams differ`,
      );
    return run;
  };
  const parsePass = () =>
    cpuSeconds(() => {
      let n = 0;
      for (let i = 0; i < payloads.length; i++) {
        const obj = JSON.parse(payloads[i] as string) as { choices: unknown[] };
        n += obj.choices.length;
      }
      return n;
    });

  // Warm-up (JIT, sockets) for both sides.
  await clientPass('lean');
  await parsePass();
  const perRound: ThroughputResult['details']['perRound'] = [];
  let cpuTotal = 0;
  let wallTotal = 0;
  for (let r = 0; r < o.rounds; r++) {
    const c = await clientPass('lean');
    const p = await parsePass();
    cpuTotal += c.cpu;
    wallTotal += c.wall;
    const client = tokens / c.cpu;
    const jsonParse = tokens / p.cpu;
    perRound.push({ client, jsonParse, ratio: client / jsonParse, wall: tokens / c.wall });
  }
  let sdk: ThroughputResult['details']['sdk'] = null;
  if (o.sdkRounds > 0) {
    const rates: number[] = [];
    const ratios: number[] = [];
    await clientPass('sdk');
    for (let r = 0; r < o.sdkRounds; r++) {
      const c = await clientPass('sdk');
      const p = await parsePass();
      rates.push(tokens / c.cpu);
      ratios.push(tokens / c.cpu / (tokens / p.cpu));
    }
    sdk = { tokensPerSecond: median(rates, 'sdk rate'), ratio: median(ratios, 'sdk ratio'), rounds: o.sdkRounds };
  }
  return {
    tokensPerSecond: median(
      perRound.map((x) => x.client),
      'client rate',
    ),
    jsonParseTokensPerSecond: median(
      perRound.map((x) => x.jsonParse),
      'JSON.parse rate',
    ),
    ratio: median(
      perRound.map((x) => x.ratio),
      'ratio',
    ),
    details: {
      traces: requests.length,
      tokens,
      payloads: payloads.length,
      bytesPerToken: bytes / tokens,
      rounds: o.rounds,
      concurrency: o.concurrency,
      wallTokensPerSecond: median(
        perRound.map((x) => x.wall),
        'wall rate',
      ),
      clientCoreShare: cpuTotal / wallTotal,
      sdk,
      retries,
      perRound,
    },
  };
}
