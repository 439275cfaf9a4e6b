import { readFileSync } from 'node:fs';
import { ChatChunkScanner } from '../src/chunk-scanner.js';
import { TraceDecoder } from '../src/decoder.js';
const streams = (JSON.parse(readFileSync('/tmp/streams.json', 'utf8')) as string[]).map((t) =>
  t.split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]').map((e) => Buffer.from(e.slice(6)).toString()),
);
let tokens = 0;
for (const s of streams) for (const p of s) tokens += (JSON.parse(p).choices?.[0]?.logprobs?.content?.length ?? 0);
const cpu = (fn: () => void) => { const c = process.cpuUsage(); fn(); const d = process.cpuUsage(c); return (d.user + d.system) / 1e6; };
const jsonPass = () => cpu(() => { let n = 0; for (const s of streams) for (const p of s) n += (JSON.parse(p) as { choices: unknown[] }).choices.length; });
const scanPass = () => cpu(() => { for (const s of streams) { const parser = new ChatChunkScanner(); for (const p of s) parser.scan(p) ?? JSON.parse(p); } });
const fullPass = () => cpu(() => {
  for (const s of streams) {
    const d = new TraceDecoder({ kind: 'chat', k: 20, thinking: false, sink: () => false });
    for (const p of s) d.feedPayload(p);
  }
});
const R = Number(process.argv[2] ?? 5);
const res: Record<string, number[]> = { json: [], scan: [], full: [] };
for (let r = 0; r < R + 1; r++) {
  const j = jsonPass(), s = scanPass(), f = fullPass();
  if (r > 0) { res.json!.push(tokens / j); res.scan!.push(tokens / s); res.full!.push(tokens / f); }
}
const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!;
console.log(`tokens ${tokens}; json ${med(res.json!).toFixed(0)} scan ${med(res.scan!).toFixed(0)} (${(med(res.scan!) / med(res.json!)).toFixed(2)}x) full ${med(res.full!).toFixed(0)} (${(med(res.full!) / med(res.json!)).toFixed(2)}x)`);
