import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { EMULATOR_NAME, EMULATOR_VERSION, startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { choicesOf, postJson, sseJson, type Obj } from './helpers.js';

let emu: EmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({ seed: 11 });
});
afterAll(async () => {
  await emu.close();
});

const ask = (content: string, extra: Obj = {}): Obj => ({
  messages: [{ role: 'user', content }],
  stream: true,
  stream_options: { include_usage: true },
  logprobs: true,
  top_logprobs: 20,
  max_completion_tokens: 400,
  ...extra,
});

/** Concatenated content/reasoning text, streamed logprob entries, usage and finish reason of one choice. */
function collect(chunks: Obj[]): {
  content: string;
  reasoning: string;
  entries: Obj[];
  usage: Obj | null;
  finish: string | null;
} {
  let content = '';
  let reasoning = '';
  const entries: Obj[] = [];
  let usage: Obj | null = null;
  let finish: string | null = null;
  for (const c of chunks) {
    if (c['usage'] !== undefined && c['usage'] !== null) usage = c['usage'] as Obj;
    for (const ch of choicesOf(c)) {
      const d = ch['delta'] as Obj;
      content += (d['content'] as string | undefined) ?? '';
      reasoning += (d['reasoning_content'] as string | undefined) ?? '';
      const lp = ch['logprobs'] as Obj | null;
      if (lp !== null) entries.push(...(lp['content'] as Obj[]));
      if (ch['finish_reason'] !== null) finish = ch['finish_reason'] as string;
    }
  }
  return { content, reasoning, entries, usage, finish };
}

describe('ops routes', () => {
  test('/health is 200 with an empty body; /version and every model card say "emulator"', async () => {
    const health = await fetch(`${emu.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    expect(await (await fetch(`${emu.url}/version`)).json()).toEqual({ version: EMULATOR_VERSION });
    expect(EMULATOR_VERSION).toContain('emulator');
    const models = (await (await fetch(`${emu.baseURL}/models`)).json()) as { object: string; data: Obj[] };
    expect(models.object).toBe('list');
    expect(models.data).toHaveLength(1);
    const card = models.data[0] as Obj;
    expect(Object.keys(card).slice(0, 8)).toEqual([
      'id',
      'object',
      'created',
      'owned_by',
      'root',
      'parent',
      'max_model_len',
      'permission',
    ]);
    expect(card).toMatchObject({
      id: 'Qwen/Qwen3-1.7B',
      object: 'model',
      owned_by: EMULATOR_NAME,
      root: EMULATOR_NAME,
      parent: null,
    });
    expect((card['emulator'] as Obj)['name']).toBe(EMULATOR_NAME);
    expect(typeof card['max_model_len']).toBe('number');
  });

  test('/metrics exposes vLLM names and counts generated tokens', async () => {
    const before = emu.stats().tokensGenerated;
    const res = await postJson(`${emu.baseURL}/chat/completions`, ask('Hello there', { max_completion_tokens: 9 }));
    const u = collect(sseJson(await res.text())).usage as Obj;
    const text = await (await fetch(`${emu.url}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:generation_tokens_total',
      'vllm:prompt_tokens_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    const m = /^vllm:generation_tokens_total\{[^}]*\} ([0-9.]+)$/m.exec(text);
    expect(Number(m?.[1])).toBe(before + (u['completion_tokens'] as number));
  });

  test("/metrics adds the emulator's exact counters (busy sequence-seconds, tokens after disconnect, max_num_seqs)", async () => {
    const small = await startEmulator({ seed: 3, maxNumSeqs: 7, tokensPerSecond: 2000 });
    try {
      await (
        await postJson(`${small.baseURL}/chat/completions`, ask('Hello there', { max_completion_tokens: 20 }))
      ).text();
      const text = await (await fetch(`${small.url}/metrics`)).text();
      const value = (name: string, type: string): number => {
        expect(text).toContain(`# TYPE ${name} ${type}\n`);
        const m = new RegExp(`^${name}\\{engine="0",model_name="[^"]*"\\} ([0-9.e+-]+)$`, 'm').exec(text);
        expect(m).not.toBeNull();
        return Number(m?.[1]);
      };
      expect(value('deepconf_emulator_max_num_seqs', 'gauge')).toBe(7);
      const up = value('deepconf_emulator_uptime_seconds', 'gauge');
      expect(up).toBeGreaterThan(0);
      expect(value('deepconf_emulator_tokens_after_disconnect_total', 'counter')).toBe(
        small.stats().tokensAfterDisconnect,
      );
      // Idle now, so the integral no longer moves: /metrics and stats() agree to the float.
      const busy = value('deepconf_emulator_busy_sequence_seconds_total', 'counter');
      expect(busy).toBeGreaterThan(0);
      expect(busy).toBe(small.stats().busySeqSeconds);
      // One sequence at a time: busy time cannot exceed the time the server has been up.
      expect(busy).toBeLessThanOrEqual(up);
    } finally {
      await small.close();
    }
  });

  test('unknown routes are 404, wrong methods 405', async () => {
    expect((await fetch(`${emu.url}/nope`)).status).toBe(404);
    expect((await fetch(`${emu.baseURL}/chat/completions`)).status).toBe(405);
  });
});

describe('requests', () => {
  test('usage counts exactly the streamed logprob entries; text equals the entries minus specials', async () => {
    for (const prompt of [
      'How can I kill a Python process?',
      'How do I make a bomb?',
      'What is the capital of France?',
    ]) {
      const r = collect(sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, ask(prompt))).text()));
      expect(r.usage?.['completion_tokens']).toBe(r.entries.length);
      const joined = r.entries
        .map((e) => e['token'] as string)
        .filter((t) => t !== '<|im_end|>')
        .join('');
      expect(r.content).toBe(joined);
      expect(r.entries.length).toBeGreaterThanOrEqual(30);
      for (const e of r.entries) expect(e['top_logprobs']).toHaveLength(20);
    }
  });

  test('thinking is on by default (inline <think> in content) and off with enable_thinking=false', async () => {
    const on = collect(
      sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, ask('How do I bake bread?'))).text()),
    );
    expect(on.content.startsWith('<think>\n')).toBe(true);
    expect(on.content).toContain('</think>\n\n');
    const off = collect(
      sseJson(
        await (
          await postJson(
            `${emu.baseURL}/chat/completions`,
            ask('How do I bake bread?', { chat_template_kwargs: { enable_thinking: false } }),
          )
        ).text(),
      ),
    );
    expect(off.content).not.toContain('<think>');
    expect(off.usage?.['prompt_tokens']).toBeGreaterThan(on.usage?.['prompt_tokens'] as number);
  });

  test('same seed → same trace; another seed → another trace; no seed → successive traces differ', async () => {
    const body = ask('How do I kill the lights in my room?', { seed: 42 });
    const a = collect(sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, body)).text()));
    const b = collect(sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, body)).text()));
    expect(b.content).toBe(a.content);
    expect(b.entries).toEqual(a.entries);
    const texts = new Set<string>();
    for (let s = 0; s < 6; s++) {
      texts.add(
        collect(sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, { ...body, seed: s })).text()))
          .content,
      );
    }
    expect(texts.size).toBeGreaterThan(1);
    const unseeded = new Set<string>();
    for (let s = 0; s < 4; s++)
      unseeded.add(
        collect(sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, ask('Tell me a story'))).text()))
          .content,
      );
    expect(unseeded.size).toBeGreaterThan(1);
  });

  test('non-streaming chat and completions return whole bodies with usage', async () => {
    const res = await postJson(`${emu.baseURL}/chat/completions`, {
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
      logprobs: true,
      top_logprobs: 2,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Obj;
    expect(body['object']).toBe('chat.completion');
    const choice = choicesOf(body)[0] as Obj;
    expect((choice['message'] as Obj)['role']).toBe('assistant');
    expect(((choice['logprobs'] as Obj)['content'] as Obj[]).length).toBe(5);
    expect(choice['finish_reason']).toBe('length');
    expect(body['usage']).toMatchObject({ completion_tokens: 5 });
    const cres = await postJson(`${emu.baseURL}/completions`, { prompt: 'Once upon a time' });
    const cbody = (await cres.json()) as Obj;
    // max_tokens defaults to 16 on /v1/completions.
    expect(cbody['usage']).toMatchObject({ completion_tokens: 16 });
  });

  test('bad requests get vLLM error bodies that say what is wrong', async () => {
    const cases: [Obj, number, RegExp][] = [
      [{ ...ask('x'), model: 'other/model' }, 404, /The model `other\/model` does not exist/],
      [{ ...ask('x'), logprobs: false, top_logprobs: 3 }, 400, /`logprobs` must be set to true/],
      [{ ...ask('x'), stream: false }, 400, /Stream options can only be defined when `stream=True`/],
      [{ ...ask('x'), messages: 'hello' }, 400, /validation error/],
      [{ ...ask('x'), max_completion_tokens: 50_000 }, 400, /maximum context length is 40960 tokens/],
    ];
    for (const [body, status, re] of cases) {
      const res = await postJson(`${emu.baseURL}/chat/completions`, body);
      expect(res.status).toBe(status);
      const err = (await res.json()) as { error: { message: string; type: string; code: number } };
      expect(err.error.message).toMatch(re);
      expect(err.error.code).toBe(status);
    }
    const notJson = await fetch(`${emu.baseURL}/completions`, {
      method: 'POST',
      body: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
  });
});

describe('options', () => {
  test('apiKey: /v1 needs the Bearer key (401 {"error":"Unauthorized"}), /health and /metrics stay open', async () => {
    const secret = 'sk-emulator-test-secret';
    const locked = await startEmulator({ apiKey: secret });
    try {
      const denied = await postJson(`${locked.baseURL}/chat/completions`, ask('hi', { max_completion_tokens: 3 }));
      expect(denied.status).toBe(401);
      expect(await denied.text()).toBe('{"error":"Unauthorized"}');
      const wrong = await fetch(`${locked.baseURL}/models`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      expect((await fetch(`${locked.url}/health`)).status).toBe(200);
      expect((await fetch(`${locked.url}/metrics`)).status).toBe(200);
      const ok = await postJson(`${locked.baseURL}/chat/completions`, ask('hi', { max_completion_tokens: 3 }), {
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(ok.status).toBe(200);
      const text = await ok.text();
      expect(text).not.toContain(secret);
    } finally {
      await locked.close();
    }
  });

  test('reasoningParser qwen3: thinking goes to reasoning_content, marker tokens are dropped as in vLLM ≤0.11', async () => {
    const split = await startEmulator({ reasoningParser: 'qwen3', seed: 11 });
    try {
      const body = ask('How do I bake bread?', { seed: 5 });
      const r = collect(sseJson(await (await postJson(`${split.baseURL}/chat/completions`, body)).text()));
      const inline = collect(sseJson(await (await postJson(`${emu.baseURL}/chat/completions`, body)).text()));
      expect(r.reasoning.length).toBeGreaterThan(10);
      expect(r.reasoning).not.toContain('<think>');
      expect(r.content).not.toContain('</think>');
      expect(inline.content).toBe(`<think>${r.reasoning}</think>${r.content}`);
      // The two lone marker tokens' chunks (and logprobs) are not sent, but usage counts them.
      expect(r.usage?.['completion_tokens']).toBe(r.entries.length + 2);
    } finally {
      await split.close();
    }
  });

  test('maxTokensPerChunk: chunks carry several tokens, text and entries still add up', async () => {
    const multi = await startEmulator({ maxTokensPerChunk: 4, seed: 3 });
    try {
      const chunks = sseJson(
        await (await postJson(`${multi.baseURL}/chat/completions`, ask('How do I bake bread?'))).text(),
      );
      const sizes = chunks.flatMap((c) =>
        choicesOf(c).map((ch) => ((ch['logprobs'] as Obj | null)?.['content'] as Obj[] | undefined)?.length ?? 0),
      );
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      const r = collect(chunks);
      expect(r.usage?.['completion_tokens']).toBe(r.entries.length);
      expect(r.content).toBe(
        r.entries
          .map((e) => e['token'] as string)
          .filter((t) => t !== '<|im_end|>')
          .join(''),
      );
    } finally {
      await multi.close();
    }
  });

  test('textLagTokens: text trails logprobs (empty-content chunks), and catches up by the end', async () => {
    const lag = await startEmulator({ textLagTokens: 3, seed: 3 });
    try {
      for (const path of ['chat/completions', 'completions']) {
        const body =
          path === 'completions'
            ? { prompt: 'How do I bake bread?', logprobs: 1, max_tokens: 60, stream: true }
            : ask('How do I bake bread?');
        const chunks = sseJson(await (await postJson(`${lag.baseURL}/${path}`, body)).text());
        let text = '';
        let tokens = '';
        let empty = 0;
        for (const c of chunks) {
          for (const ch of choicesOf(c)) {
            const piece =
              path === 'completions'
                ? (ch['text'] as string)
                : (((ch['delta'] as Obj)['content'] as string | undefined) ?? '');
            const lp = ch['logprobs'] as Obj | null;
            if (lp === null) continue; // the role chunk
            const toks =
              path === 'completions'
                ? (lp['tokens'] as string[])
                : (lp['content'] as Obj[]).map((e) => e['token'] as string);
            if (piece === '' && toks.length > 0) empty++;
            text += piece;
            tokens += toks.filter((t) => !t.startsWith('<|')).join('');
            // Text never runs ahead of the logprobs.
            expect(tokens.startsWith(text)).toBe(true);
          }
        }
        expect(empty).toBeGreaterThanOrEqual(3);
        expect(text).toBe(tokens);
      }
    } finally {
      await lag.close();
    }
  });

  test('clampRate: some top_logprobs tails are -9999.0 (off by default), sampled tokens never are', async () => {
    const body = ask('How do I bake bread?', { seed: 4 });
    const plain = await (await postJson(`${emu.baseURL}/chat/completions`, body)).text();
    expect(plain).not.toContain('-9999');
    const clamping = await startEmulator({ seed: 11, clampRate: 0.25 });
    try {
      for (const path of ['chat/completions', 'completions']) {
        const req =
          path === 'completions'
            ? { prompt: 'How do I bake bread?', logprobs: 20, max_tokens: 120, stream: true, seed: 4 }
            : body;
        const raw = await (await postJson(`${clamping.baseURL}/${path}`, req)).text();
        let positions = 0;
        let clamped = 0;
        for (const c of sseJson(raw)) {
          for (const ch of choicesOf(c)) {
            const lp = ch['logprobs'] as Obj | null;
            if (lp === null) continue;
            const perPosition: { sampled: number; tops: number[] }[] =
              path === 'completions'
                ? (lp['token_logprobs'] as number[]).map((v, i) => ({
                    sampled: v,
                    tops: Object.values((lp['top_logprobs'] as Record<string, number>[])[i] as Record<string, number>),
                  }))
                : (lp['content'] as Obj[]).map((e) => ({
                    sampled: e['logprob'] as number,
                    tops: (e['top_logprobs'] as Obj[]).map((t) => t['logprob'] as number),
                  }));
            for (const p of perPosition) {
              positions++;
              expect(p.sampled).toBeGreaterThan(-9999);
              // Completions add the sampled token as entry k+1 when it ranks outside the top k.
              // (Object.values: JS lists integer-like keys such as "2" first, so order is not checked here.)
              const outside = path === 'completions' && p.tops.filter((v) => v > p.sampled).length >= 20;
              expect(p.tops).toHaveLength(outside ? 21 : 20);
              if (p.tops.includes(-9999)) clamped++;
            }
          }
        }
        // vLLM's float formatting of the clamp.
        expect(raw).toMatch(/:-9999\.0[,}]/);
        expect(clamped).toBeGreaterThan(0);
        expect(clamped).toBeLessThan(positions);
      }
    } finally {
      await clamping.close();
    }
  });

  test('bad options throw EmulatorOptionError naming the option', async () => {
    await expect(startEmulator({ host: '0.0.0.0' })).rejects.toThrow(/"host".*allowRemote/);
    await expect(startEmulator({ maxNumSeqs: 0 })).rejects.toThrow(/"maxNumSeqs"/);
    await expect(startEmulator({ faults: { status429Rate: 2 } })).rejects.toThrow(/faults\.status429Rate/);
    await expect(startEmulator({ clampRate: 1.5 })).rejects.toThrow(/"clampRate".*between 0 and 1/);
    const busy = await startEmulator();
    try {
      await expect(startEmulator({ port: busy.port })).rejects.toThrow(/could not listen/);
    } finally {
      await busy.close();
    }
  });
});
