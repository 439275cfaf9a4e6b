import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ThinkingSplitter } from '@deepconf-safety/vllm-client/internal';
import { decodeConfidences, RunStore, type TraceRecord } from '@deepconf-safety/run-store';
import { experimentCommand } from '../src/experiment/command.js';
import {
  startVariantServer,
  type ServedRequest,
  type VariantProfile,
  type VariantServer,
} from './support/vllm-variant-server.js';

// Integration: `npm run experiment` against vLLM-shaped servers of several versions/launch configurations that are
// not our emulator (test/support/vllm-variant-server.ts), over real HTTP on loopback.
const made: string[] = [];
const servers: VariantServer[] = [];
afterAll(async () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  await Promise.all(servers.map((s) => s.close()));
});

const KEY = 'sk-variant-9f3c2e1d7b6a5f4e';
const THINKING =
  'The user asks a question. Let me consider whether answering is safe and what a helpful reply looks like.';

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  dir: string;
  server: VariantServer;
}

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(repo, 'packages/cli/src/bin/experiment.ts');

/**
 * One small run at a fresh server of `profile`: in this process through experimentCommand, or with `spawn` as the
 * real `npm run experiment` binary (key from the process environment).
 */
async function run(
  profile: VariantProfile,
  extra: string[] = [],
  opts: { apiKey?: string; env?: Record<string, string>; maxTokens?: number; report?: boolean; spawn?: boolean } = {},
): Promise<Run> {
  const server = await startVariantServer({ profile, ...(opts.apiKey === undefined ? {} : { apiKey: opts.apiKey }) });
  servers.push(server);
  const dir = mkdtempSync(join(tmpdir(), `variant-${profile}-`));
  made.push(dir);
  const argv = [
    '--base-url',
    server.baseURL,
    '--benchmark',
    'xstest',
    '--num-instances',
    '6',
    '--traces',
    '4',
    '--warmup',
    '2',
    '--window',
    '16',
    '--max-tokens',
    String(opts.maxTokens ?? 96),
    '--seed',
    '5',
    '--concurrency',
    '4',
    ...(opts.report === true ? [] : ['--no-report']),
    '--output',
    dir,
    ...extra,
  ];
  if (opts.spawn === true) {
    const child = await execa(
      process.execPath,
      ['--import', 'tsx', '--conditions=@deepconf-safety/source', bin, ...argv],
      { cwd: repo, reject: false, env: { VLLM_API_KEY: '', ...opts.env } },
    );
    await server.idle();
    return { exitCode: child.exitCode ?? -1, stdout: child.stdout, stderr: child.stderr, dir, server };
  }
  const out: string[] = [];
  const err: string[] = [];
  const exitCode = await experimentCommand(argv, {
    env: opts.env ?? {},
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    tty: false,
    onSignal: () => () => undefined,
  });
  // Streams the client abandoned end at the server's next step; wait for that before reading what was served.
  await server.idle();
  return { exitCode, stdout: out.join('\n'), stderr: err.join('\n'), dir, server };
}

/** The served request a recorded trace came from: same prompt, and every recorded confidence equals the one served. */
function servedFor(
  trace: TraceRecord,
  prompt: string,
  requests: readonly ServedRequest[],
  mode: 'exact' | 'chatView',
): { served: ServedRequest; confs: Float64Array } {
  const confs = decodeConfidences(trace.confidences);
  const matches = requests.filter(
    (r) =>
      !r.probe &&
      r.prompt === prompt &&
      r.delivered.length >= confs.length &&
      confs.every((c, i) => Math.abs(c - (r.delivered[i]?.[mode] ?? NaN)) < 1e-9),
  );
  expect({ trace: `${trace.instanceId}#${trace.traceIndex}`, matches: matches.length }).toEqual({
    trace: `${trace.instanceId}#${trace.traceIndex}`,
    matches: 1,
  });
  return { served: matches[0] as ServedRequest, confs };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** What every profile must give: a completed, non-emulated run whose numbers are the ones served. */
function checkRun(
  r: Run,
  mode: 'exact' | 'chatView',
  thinking = false,
): { traces: TraceRecord[]; earlyStopped: number } {
  expect({ exitCode: r.exitCode, stderr: mode === 'exact' ? r.stderr : '' }).toEqual({ exitCode: 0, stderr: '' });
  expect(r.stdout).not.toMatch(/EMULATED/);
  const store = RunStore.open(r.dir);
  const manifest = store.readManifest();
  expect(manifest).toMatchObject({ status: 'completed', emulated: false, server: { emulated: false } });
  expect(store.readResults().emulated).toBe(false);
  expect(manifest.config.topLogprobs).toBe(20);
  expect(manifest.derived.confidenceMode).toBe(mode === 'exact' ? 'exact' : 'chat-view');
  const prompts = new Map(store.readInstances().map((i) => [i.instanceId, i.prompt]));
  expect(prompts.size).toBe(6);
  const traces = store.readTraces();
  expect(traces).toHaveLength(24);
  let earlyStopped = 0;
  for (const t of traces) {
    expect({ id: `${t.instanceId}#${t.traceIndex}`, stop: t.stopReason, error: t.error }).toEqual({
      id: `${t.instanceId}#${t.traceIndex}`,
      stop: expect.not.stringMatching(/^error$/),
      error: null,
    });
    const { served, confs } = servedFor(t, prompts.get(t.instanceId) ?? '', r.server.requests, mode);
    expect(confs.length).toBeGreaterThan(0);
    expect(confs.every(Number.isFinite)).toBe(true);
    for (const v of [t.lowestGroup, t.mean]) expect(Number.isFinite(v)).toBe(true);
    expect(t.tokens).toBe(confs.length);
    if (t.stopReason === 'early_stopped') {
      earlyStopped++;
      // The client hung up mid-stream and the server stopped generating.
      expect(served.aborted).toBe(true);
      expect(served.delivered.length).toBeLessThan(served.planned);
      expect(t.text.length).toBeLessThan(served.answer.length);
      // What arrived before the stop, thinking and answer each in its place.
      expect(served.content.trimStart().startsWith(t.text.trimStart())).toBe(true);
      if (thinking && t.reasoning !== null) expect(THINKING.startsWith(t.reasoning)).toBe(true);
      if (!thinking) expect(t.reasoning).toBeNull();
    } else {
      expect(served.aborted).toBe(false);
      expect(confs.length).toBe(served.delivered.length);
      expect(t.text).toBe(served.content);
      expect(t.text.trim()).toBe(served.answer);
      expect(t.reasoning).toBe(thinking ? THINKING : null);
      expect(t.refusal?.refused).toBe(served.kind === 'refusal');
    }
    if (thinking) {
      expect(t.text).not.toMatch(/think>|Let me consider/);
    }
  }
  // Deterministic responses give both kinds of answer.
  expect(new Set(traces.filter((t) => t.stopReason !== 'early_stopped').map((t) => t.refusal?.refused)).size).toBe(2);
  return { traces, earlyStopped };
}

describe('npm run experiment against vLLM versions that are not our emulator', () => {
  let earlyStops = 0;

  test('v0.10.2–0.11 (fixture field set), chat and completions', async () => {
    const chat = await run('v0.11');
    const { traces } = checkRun(chat, 'exact');
    earlyStops += traces.filter((t) => t.stopReason === 'early_stopped').length;
    // An in-band error event mid-stream fails the attempt, and the retry completes the trace.
    const broken = chat.server.requests.filter((q) => q.inBandError);
    expect(broken.length).toBeGreaterThan(0);
    expect(traces.filter((t) => t.attempts > 1)).toHaveLength(broken.length);
    earlyStops += checkRun(await run('v0.11', ['--endpoint', 'completions']), 'exact').earlyStopped;
  });

  test('2026 main: reasoning key, prompt_text, system_fingerprint, completions without usage key, finish "repetition"', async () => {
    const chat = await run('main-2026', ['--thinking', 'on']);
    earlyStops += checkRun(chat, 'exact', true).earlyStopped;
    const completions = await run('main-2026', ['--endpoint', 'completions']);
    earlyStops += checkRun(completions, 'exact').earlyStopped;
    expect(completions.server.requests.some((q) => q.finishReason === 'repetition')).toBe(true);
  });

  test('stock --max-logprobs 20: chat-view mode with its warning', async () => {
    const r = await run('max-logprobs-20');
    expect(r.server.rejected.badRequest).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/warning: .*at most 20 top_logprobs.*chat-view.*--max-logprobs 21/);
    earlyStops += checkRun(r, 'chatView').earlyStopped;
    // The two modes really differ on what was served (sampled token outside the top 20), so matching chatView means something.
    expect(r.server.requests.some((q) => q.delivered.some((d) => d.exact !== d.chatView))).toBe(true);
  });

  test('lagging consumer: merged chunks, text held back behind logprobs, EOS with empty content', async () => {
    earlyStops += checkRun(await run('lagging'), 'exact').earlyStopped;
  });

  test('Qwen3 thinking: <think> inline without a parser, only </think> (Qwen3.5 template), and split by the v0.11 parser', async () => {
    earlyStops += checkRun(await run('think-inline', ['--thinking', 'on']), 'exact', true).earlyStopped;
    earlyStops += checkRun(await run('think-implicit', ['--thinking', 'on']), 'exact', true).earlyStopped;
    earlyStops += checkRun(await run('think-parser', ['--thinking', 'on']), 'exact', true).earlyStopped;
  });

  test('thinking cut by --max-tokens before </think> is thinking, not an answer, with or without <think> in the output', async () => {
    for (const profile of ['think-inline', 'think-implicit'] as const) {
      const r = await run(profile, ['--thinking', 'on'], { maxTokens: 12 });
      expect({ profile, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ profile, exitCode: 0, stderr: '' });
      const store = RunStore.open(r.dir);
      const prompts = new Map(store.readInstances().map((i) => [i.instanceId, i.prompt]));
      const traces = store.readTraces();
      expect(traces).toHaveLength(24);
      for (const t of traces) {
        servedFor(t, prompts.get(t.instanceId) ?? '', r.server.requests, 'exact');
        expect({ profile, stop: t.stopReason, text: t.text }).toEqual({ profile, stop: 'length', text: '' });
        expect(t.reasoning).not.toBe('');
        expect(THINKING.startsWith(t.reasoning ?? 'null')).toBe(true);
      }
    }
  });

  test('ThinkingSplitter: a cut output with only </think> expected stays thinking; a finished one without tags is the answer', () => {
    const split = (thinking: boolean, truncated: boolean, deltas: string[]) => {
      const s = new ThinkingSplitter(thinking);
      for (const d of deltas) s.addContent(d);
      return s.finish(truncated);
    };
    expect(split(true, true, ['I should ', 'weigh this'])).toEqual({ reasoning: 'I should weigh this', text: '' });
    expect(split(true, false, ['Paris', ' is the capital.'])).toEqual({
      reasoning: null,
      text: 'Paris is the capital.',
    });
    expect(split(false, true, ['Paris', ' is'])).toEqual({ reasoning: null, text: 'Paris is' });
    expect(split(true, true, ['hm</think>\n\nNo', ' way'])).toEqual({ reasoning: 'hm', text: 'No way' });
    expect(split(true, true, ['<think>\nstill'])).toEqual({ reasoning: 'still', text: '' });
  });

  test('--api-key: 401 without it (clear error); the real binary with the key completes and the key reaches no output', async () => {
    const denied = await run('v0.11', [], { apiKey: KEY });
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toMatch(/VLLM_API_KEY/);
    expect(denied.server.rejected.unauthorized).toBeGreaterThan(0);

    // With the report, so its files are searched for the key too.
    const r = await run('v0.11', [], { apiKey: KEY, env: { VLLM_API_KEY: KEY }, report: true, spawn: true });
    earlyStops += checkRun(r, 'exact').earlyStopped;
    expect(r.stdout + r.stderr).not.toContain(KEY);
    const files = filesUnder(r.dir);
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect({ f, leaked: readFileSync(f, 'utf8').includes(KEY) }).toEqual({ f, leaked: false });
    // Model output is untrusted: wherever the report quotes an answer (its failure table), markup must not come out raw.
    const html = files.filter((f) => f.endsWith('.html'));
    expect(html.length).toBeGreaterThan(0);
    for (const f of html)
      expect({ f, raw: readFileSync(f, 'utf8').includes('<script>alert') }).toEqual({ f, raw: false });
  }, 60_000);

  test('early stopping happened across the profiles', () => {
    expect(earlyStops).toBeGreaterThan(0);
  });
});
