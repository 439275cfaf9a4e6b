// Stream throughput of the client's hot path (issue 9): tokens per CPU-second of the two transports against
// a replay server, versus raw JSON.parse of the same chunk payloads. The server is a child process and the client's
// cost is measured as this process's CPU time (process.cpuUsage), so a busy machine disturbs the figures less than
// wall-clock time would; rounds alternate between the measurements and the median ratio is reported.
//   npx tsx --conditions=@deepconf-safety/source packages/vllm-client/bench/stream-throughput.ts [tokens] [rounds]
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VllmClient, type TraceRequest } from '@deepconf-safety/vllm-client';
import { SseSplitter, TraceDecoder } from '../src/internal/index.js';

const TOKENS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const K = 20;

/** A vLLM-shaped chat stream: role chunk, one token per chunk with K+1 alternatives, finish, usage, [DONE]. */
function buildStream(n: number): { text: string; payloads: string[] } {
  const payloads: string[] = [];
  const head = {
    id: 'chatcmpl-bench0123456789abcdef',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: 'Qwen/Qwen3-8B',
  };
  payloads.push(
    JSON.stringify({
      ...head,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
      prompt_token_ids: null,
    }),
  );
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < n; i++) {
    const token = ` tok${i % 997}`;
    const alts = Array.from({ length: K + 1 }, (_, j) => ({
      token: ` alt${j}`,
      logprob: -(j * 0.7 + rand() * 0.5),
      bytes: [32, 97, 108, 116],
    }));
    const sampledRank = rand() < 0.8 ? 0 : Math.floor(rand() * K);
    const sampled = { token, logprob: alts[sampledRank]!.logprob, bytes: [...Buffer.from(token)] };
    const tops = [sampled, ...alts.filter((_, j) => j !== sampledRank)].slice(0, K + 1);
    const last = i === n - 1;
    payloads.push(
      JSON.stringify({
        ...head,
        choices: [
          {
            index: 0,
            delta: { content: token },
            logprobs: { content: [{ ...sampled, top_logprobs: tops }] },
            finish_reason: last ? 'length' : null,
            ...(last ? { stop_reason: null } : { token_ids: null }),
          },
        ],
      }),
    );
  }
  payloads.push(
    JSON.stringify({ ...head, choices: [], usage: { prompt_tokens: 10, total_tokens: 10 + n, completion_tokens: n } }),
  );
  return { text: payloads.map((p) => `data: ${p}\n\n`).join('') + 'data: [DONE]\n\n', payloads };
}

const SERVER = `
const { createServer } = require('node:http');
const body = require('node:fs').readFileSync(process.argv[1]);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let off = 0;
    const pump = () => {
      while (off < body.length) {
        const end = Math.min(off + 65536, body.length);
        const ok = res.write(body.subarray(off, end));
        off = end;
        if (!ok) return res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

type Round = { raw: number; decoder: number; bytes: number; lean: number; sdk: number };

/** CPU seconds (user + system) this process spends in `fn`. */
async function cpuSeconds(fn: () => unknown): Promise<number> {
  const t0 = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

const tokensOf = (payload: string): number =>
  (JSON.parse(payload) as { choices: { logprobs?: { content?: unknown[] } | null }[] }).choices[0]?.logprobs?.content
    ?.length ?? 0;

/** The floor: JSON.parse of every payload, nothing else. */
const rawParse = (payloads: readonly string[]) =>
  cpuSeconds(() => {
    let n = 0;
    for (const p of payloads) n += tokensOf(p);
    if (n !== TOKENS) throw new Error(`parsed ${n} tokens`);
  });

/** The payloads handed to the decoder as the transport does: chunk scanner (or JSON.parse), validation, confidence. */
const decoded = (payloads: readonly string[]) =>
  cpuSeconds(() => {
    const d = new TraceDecoder({ kind: 'chat', k: K, thinking: false, sink: () => false });
    for (const p of payloads) d.feedPayload(p);
    if (d.tokens !== TOKENS) throw new Error(`decoded ${d.tokens} tokens`);
  });

/** The same bytes in 64 KiB reads, split and parsed in-process: everything but HTTP and the decoder. */
const bytesParse = (bytes: Buffer) =>
  cpuSeconds(() => {
    const sse = new SseSplitter();
    const out: string[] = [];
    let n = 0;
    for (let off = 0; off < bytes.length; off += 65536) {
      sse.push(bytes.subarray(off, Math.min(off + 65536, bytes.length)), out);
      for (const p of out) if (p !== '[DONE]') n += tokensOf(p);
      out.length = 0;
    }
    if (n !== TOKENS) throw new Error(`parsed ${n} tokens`);
  });

/** One whole trace through the client and its transport, over HTTP from the replay server. */
const viaClient = (baseURL: string, transport: 'lean' | 'sdk') =>
  cpuSeconds(async () => {
    const request: TraceRequest = {
      prompt: 'x',
      maxTokens: TOKENS,
      temperature: 1,
      topP: 1,
      topK: -1,
      seed: 0,
      topLogprobs: K,
      thinking: false,
    };
    const client = new VllmClient({ baseURLs: [baseURL], model: 'Qwen/Qwen3-8B', transport, env: {} });
    // The runner's stop rule, applied per token by the client (a threshold no confidence falls below: it never fires).
    const r = await client.runTrace(request, { stopRule: { window: 2048, threshold: -1 } });
    if (r.tokens !== TOKENS) throw new Error(`expected ${TOKENS} tokens, got ${r.tokens}`);
  });

/** Medians over the rounds, each path as a ratio to raw JSON.parse of the same payloads. */
function printRounds(rows: readonly Round[], text: string): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rawParseRate = median(rows.map((x) => x.raw));
  const lean = median(rows.map((x) => x.lean));
  const sdk = median(rows.map((x) => x.sdk));
  const leanRatio = median(rows.map((x) => x.lean / x.raw));
  const sdkRatio = median(rows.map((x) => x.sdk / x.raw));
  const fmt = (x: number) => `${Math.round(x).toLocaleString('en-US')} tok/s`;
  const bytesPerToken = Math.round(text.length / TOKENS);
  console.log(
    `stream: ${TOKENS} tokens, top-${K + 1} logprobs, ${bytesPerToken} bytes/token; medians of ${ROUNDS} alternating rounds, per CPU-second`,
  );
  console.log(`raw JSON.parse of the payloads : ${fmt(rawParseRate)}`);
  console.log(
    `decoder alone (scanner)        : ${fmt(median(rows.map((x) => x.decoder)))}  ratio ${median(rows.map((x) => x.decoder / x.raw)).toFixed(2)}`,
  );
  console.log(
    `bytes → split → JSON.parse      : ${fmt(median(rows.map((x) => x.bytes)))}  ratio ${median(rows.map((x) => x.bytes / x.raw)).toFixed(2)}`,
  );
  console.log(`lean client, node:http        : ${fmt(lean)}  ratio ${leanRatio.toFixed(2)}`);
  console.log(`openai SDK client             : ${fmt(sdk)}  ratio ${sdkRatio.toFixed(2)}`);
}

async function main(): Promise<void> {
  const { text, payloads } = buildStream(TOKENS);
  const dir = mkdtempSync(join(tmpdir(), 'vllm-bench-'));
  const file = join(dir, 'stream.sse');
  writeFileSync(file, text);
  // The server exits when our stdin pipe closes, i.e. when this process ends for any reason.
  const child = spawn(process.execPath, ['-e', SERVER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  const baseURL = `http://127.0.0.1:${port}/v1`;
  const bytes = Buffer.from(text);
  const rows: Round[] = [];
  await viaClient(baseURL, 'lean'); // warm-up: JIT and connection pool
  await viaClient(baseURL, 'sdk');
  for (let r = 0; r < ROUNDS; r++) {
    rows.push({
      raw: TOKENS / (await rawParse(payloads)),
      decoder: TOKENS / (await decoded(payloads)),
      bytes: TOKENS / (await bytesParse(bytes)),
      lean: TOKENS / (await viaClient(baseURL, 'lean')),
      sdk: TOKENS / (await viaClient(baseURL, 'sdk')),
    });
  }
  child.stdin.end();
  rmSync(dir, { recursive: true, force: true });
  printRounds(rows, text);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
