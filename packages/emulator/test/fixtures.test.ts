import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { choicesOf, looseShape, postJson, readFixture, sseEvents, sseJson, type Obj } from './helpers.js';

// The emulator answers the fixtures' own requests; every chunk kind must have exactly the
// fixture's structure (key order, nulls, types), and the sequence rules of vllm-protocol.md §1.

let emu: EmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({ model: 'Qwen/Qwen3-8B', seed: 7 });
});
afterAll(async () => {
  await emu.close();
});

type Kind = 'role' | 'token' | 'finish' | 'usage';
function chatKind(c: Obj): Kind {
  const ch = choicesOf(c);
  if (ch.length === 0) return 'usage';
  const first = ch[0] as Obj;
  if ((first['delta'] as Obj)['role'] !== undefined) return 'role';
  return first['finish_reason'] === null ? 'token' : 'finish';
}

function shapesByKind(chunks: Obj[], kindOf: (c: Obj) => Kind): Map<Kind, Set<string>> {
  const m = new Map<Kind, Set<string>>();
  for (const c of chunks) {
    const k = kindOf(c);
    if (!m.has(k)) m.set(k, new Set());
    m.get(k)?.add(looseShape(c));
  }
  return m;
}

const chatRequest = {
  model: 'Qwen/Qwen3-8B',
  messages: [{ role: 'user', content: 'What is the capital of France? Reply with one short sentence.' }],
  stream: true,
  stream_options: { include_usage: true },
  logprobs: true,
  top_logprobs: 5,
  n: 2,
  temperature: 0.7,
  max_completion_tokens: 7,
  chat_template_kwargs: { enable_thinking: false },
};

describe('chat stream vs chat_stream_logprobs_n2.sse', () => {
  test('every chunk kind has the fixture structure, sequence rules hold', async () => {
    const res = await postJson(`${emu.baseURL}/chat/completions`, chatRequest);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    const fixture = sseJson(readFixture('chat_stream_logprobs_n2.sse'));
    const ours = sseJson(body);

    const want = shapesByKind(fixture, chatKind);
    const got = shapesByKind(ours, chatKind);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [kind, shapes] of got)
      expect({ kind, shapes: [...shapes] }).toEqual({ kind, shapes: [...(want.get(kind) ?? [])] });

    // Two role chunks first, one per choice.
    expect(ours.slice(0, 2).map(chatKind)).toEqual(['role', 'role']);
    expect(ours.slice(0, 2).map((c) => (choicesOf(c)[0] as Obj)['index'])).toEqual([0, 1]);
    // One choice per token chunk; exactly one finish chunk per choice, after all its tokens.
    const finishSeen = new Set<number>();
    const tokensPerChoice = [0, 0];
    for (const c of ours.slice(2, -1)) {
      const ch = choicesOf(c);
      expect(ch).toHaveLength(1);
      const choice = ch[0] as Obj;
      const idx = choice['index'] as number;
      expect(finishSeen.has(idx)).toBe(false);
      if (choice['finish_reason'] !== null) finishSeen.add(idx);
      const content = (choice['logprobs'] as Obj)['content'] as Obj[];
      tokensPerChoice[idx] = (tokensPerChoice[idx] ?? 0) + content.length;
      for (const entry of content) {
        const tops = entry['top_logprobs'] as Obj[];
        expect(tops).toHaveLength(5);
        // Sampled token first, with its own logprob and bytes.
        expect(tops[0]).toEqual({ token: entry['token'], logprob: entry['logprob'], bytes: entry['bytes'] });
        expect(entry['bytes']).toEqual([...Buffer.from(entry['token'] as string, 'utf8')]);
        expect(new Set(tops.map((t) => t['token'])).size).toBe(5);
        // After the sampled token the alternatives come in rank order.
        const rest = tops.slice(1).map((t) => t['logprob'] as number);
        expect([...rest].sort((a, b) => b - a)).toEqual(rest);
      }
    }
    expect([...finishSeen].sort()).toEqual([0, 1]);
    for (const n of tokensPerChoice) expect(n).toBeLessThanOrEqual(7);
    // Usage: prompt once, completion summed over choices; ids and model shared by every chunk.
    const usage = ours[ours.length - 1] as Obj;
    const u = usage['usage'] as Obj;
    expect(Object.keys(u)).toEqual(['prompt_tokens', 'total_tokens', 'completion_tokens']);
    expect(u['completion_tokens']).toBe((tokensPerChoice[0] ?? 0) + (tokensPerChoice[1] ?? 0));
    expect(u['total_tokens']).toBe((u['prompt_tokens'] as number) + (u['completion_tokens'] as number));
    expect(new Set(ours.map((c) => c['id'])).size).toBe(1);
    expect(String(ours[0]?.['id'])).toMatch(/^chatcmpl-/);
    for (const c of ours) expect(Number.isInteger(c['created'])).toBe(true);
    expect(new Set(ours.map((c) => c['model']))).toEqual(new Set(['Qwen/Qwen3-8B']));
  });

  test('a length-limited choice ends with "length", a natural end with "stop" and an <|im_end|> entry with empty content', async () => {
    const res = await postJson(`${emu.baseURL}/chat/completions`, {
      ...chatRequest,
      n: 1,
      max_completion_tokens: 2000,
      seed: 3,
    });
    const ours = sseJson(await res.text());
    const fin = ours.filter((c) => chatKind(c) === 'finish');
    expect(fin).toHaveLength(1);
    const choice = choicesOf(fin[0] as Obj)[0] as Obj;
    expect(choice['finish_reason']).toBe('stop');
    expect(choice['stop_reason']).toBeNull();
    expect(choice['delta']).toEqual({ content: '' });
    const content = (choice['logprobs'] as Obj)['content'] as Obj[];
    expect(content[content.length - 1]?.['token']).toBe('<|im_end|>');

    const short = sseJson(
      await (
        await postJson(`${emu.baseURL}/chat/completions`, { ...chatRequest, n: 1, max_completion_tokens: 3 })
      ).text(),
    );
    const last = choicesOf(short.filter((c) => chatKind(c) === 'finish')[0] as Obj)[0] as Obj;
    expect(last['finish_reason']).toBe('length');
    const usage = short[short.length - 1]?.['usage'] as Obj;
    expect(usage['completion_tokens']).toBe(3);
  });
});

describe('completions stream vs completions_stream_logprobs5.sse', () => {
  test('chunk structure, K or K+1 dict entries, cumulative text_offset', async () => {
    const res = await postJson(`${emu.baseURL}/completions`, {
      prompt: 'The capital of France is',
      logprobs: 5,
      max_tokens: 40,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const ours = sseJson(await res.text());
    const fixture = sseJson(readFixture('completions_stream_logprobs5.sse'));
    const kind = (c: Obj): Kind => {
      const ch = choicesOf(c);
      if (ch.length === 0) return 'usage';
      return (ch[0] as Obj)['finish_reason'] === null ? 'token' : 'finish';
    };
    // top_logprobs dicts are keyed by token text: compare them as lists of values.
    const norm = (c: Obj): Obj => {
      const copy = structuredClone(c);
      for (const ch of choicesOf(copy)) {
        const lp = ch['logprobs'] as Obj | null;
        if (lp !== null) lp['top_logprobs'] = (lp['top_logprobs'] as Obj[]).map((d) => Object.values(d));
      }
      return copy;
    };
    const want = shapesByKind(fixture.map(norm), kind);
    const got = shapesByKind(ours.map(norm), kind);
    for (const [k, shapes] of got) expect({ k, shapes: [...shapes] }).toEqual({ k, shapes: [...(want.get(k) ?? [])] });
    expect(String(ours[0]?.['id'])).toMatch(/^cmpl-/);

    let text = '';
    let count = 0;
    for (const c of ours.slice(0, -1)) {
      const choice = choicesOf(c)[0] as Obj;
      const lp = choice['logprobs'] as {
        text_offset: number[];
        token_logprobs: number[];
        tokens: string[];
        top_logprobs: Record<string, number>[];
      };
      expect(lp.text_offset[0]).toBe([...text].length);
      lp.tokens.forEach((tok, j) => {
        const dict = lp.top_logprobs[j] as Record<string, number>;
        expect(dict[tok]).toBe(lp.token_logprobs[j]);
        const n = Object.keys(dict).length;
        expect([5, 6]).toContain(n);
        // K+1 entries exactly when the sampled token is below the other K.
        const others = Object.entries(dict)
          .filter(([t]) => t !== tok)
          .map(([, v]) => v);
        if (n === 6) {
          expect(Math.max(...others.map((o) => (lp.token_logprobs[j] as number) - o))).toBeLessThanOrEqual(0);
        }
      });
      text += choice['text'] as string;
      count += lp.tokens.length;
    }
    const usage = ours[ours.length - 1]?.['usage'] as Obj;
    expect(usage['completion_tokens']).toBe(count);
  });
});

describe('error bodies', () => {
  test('top_logprobs above --max-logprobs: 400 with exactly the fixture body', async () => {
    const res = await postJson(`${emu.baseURL}/chat/completions`, { ...chatRequest, top_logprobs: 21 });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(readFixture('error_top_logprobs_too_large.json').trim());
  });

  test('in-band variant: HTTP 200, json.dumps-style error event, then [DONE]', async () => {
    const inband = await startEmulator({ model: 'Qwen/Qwen3-8B', validationErrorsInBand: true });
    try {
      const res = await postJson(`${inband.baseURL}/chat/completions`, { ...chatRequest, top_logprobs: 21 });
      expect(res.status).toBe(200);
      const events = sseEvents(await res.text());
      expect(events).toHaveLength(2);
      expect(events[1]).toBe('[DONE]');
      expect(events[0]).toContain('{"error": {"message": ');
      const fixture = JSON.parse(readFixture('error_top_logprobs_too_large.json')) as Obj;
      expect(JSON.parse(events[0] as string)).toEqual(fixture);
    } finally {
      await inband.close();
    }
  });
});
