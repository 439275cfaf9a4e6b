// Measures how many tokens/s the emulator serves with 20 logprobs per token.
// Usage: npx tsx --conditions=@deepconf-safety/source packages/emulator/scripts/throughput.ts [concurrency] [seconds] [url]
// With a url it drives an already running emulator (e.g. `npm run emulator` in another process,
// so server and client get a core each); without, it starts one in-process.
// CLIENT=raw reads with node:http and no parsing, to measure the server alone.
import http from 'node:http';
import { startEmulator } from '../src/index.js';

const concurrency = Number(process.argv[2] ?? 64);
const seconds = Number(process.argv[3] ?? 5);
const external = process.argv[4];

const emu = external === undefined ? await startEmulator({ maxNumSeqs: 1024 }) : null;
const base = external ?? (emu as NonNullable<typeof emu>).baseURL;
const deadline = performance.now() + seconds * 1000;
let tokens = 0;
let bytes = 0;
let requests = 0;

const raw = process.env['CLIENT'] === 'raw';

/** Cheapest possible reader (node:http, no SSE parsing): measures the server, not the client. */
function rawRequest(body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/chat/completions`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let size = 0;
        let tail = '';
        res.on('data', (b: Buffer) => {
          size += b.length;
          tail = b.length >= 300 ? b.subarray(b.length - 300).toString() : tail + b.toString();
        });
        res.on('end', () => resolve(`${'x'.repeat(0)}${tail}`.padStart(size, ' ')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 4096 });

/** The request every worker repeats, with its own prompt and a fresh seed each time. */
const requestBody = (id: number, seed: number): string =>
  JSON.stringify({
    messages: [{ role: 'user', content: `How do I bake bread? (${id})` }],
    stream: true,
    stream_options: { include_usage: true },
    logprobs: true,
    top_logprobs: 20,
    max_completion_tokens: 1000,
    seed,
  });

async function worker(id: number): Promise<void> {
  let i = 0;
  while (performance.now() < deadline) {
    const body = requestBody(id, i++);
    const text = raw
      ? await rawRequest(body)
      : await (
          await fetch(`${base}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          })
        ).text();
    bytes += text.length;
    tokens += Number(/"completion_tokens":(\d+)/.exec(text.slice(-300))?.[1] ?? 0);
    requests++;
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
const wall = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    concurrency,
    wallSeconds: Number(wall.toFixed(2)),
    requests,
    tokensPerSecond: Math.round(tokens / wall),
    megabytesPerSecond: Number((bytes / wall / 1e6).toFixed(1)),
    bytesPerToken: Math.round(bytes / Math.max(1, tokens)),
    ...(emu === null ? {} : { utilisation: Number((emu.stats().busySeqSeconds / (concurrency * wall)).toFixed(3)) }),
  }),
);
await emu?.close();
