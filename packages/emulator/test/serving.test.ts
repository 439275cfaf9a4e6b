import { describe, expect, test } from '@jest/globals';
import { startEmulator, type FaultContext } from '@deepconf-safety/emulator';
import { postJson, sseEvents, type Obj } from './helpers.js';

const bread = (seed: number, extra: Obj = {}): Obj => ({
  messages: [{ role: 'user', content: 'How do I bake bread at home?' }],
  stream: true,
  stream_options: { include_usage: true },
  logprobs: true,
  top_logprobs: 20,
  max_completion_tokens: 300,
  seed,
  chat_template_kwargs: { enable_thinking: false },
  ...extra,
});

/** Reads a stream with our own SSE parsing; stops (aborts) after `stopAfter` tokens when given. */
async function streamTokens(
  url: string,
  body: Obj,
  stopAfter: number | null,
): Promise<{ tokens: number; usage: number | null; aborted: boolean }> {
  const ac = new AbortController();
  const res = await postJson(url, body, { signal: ac.signal });
  if (res.body === null) throw new Error('no body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let tokens = 0;
  let usage: number | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(6, cut);
      buf = buf.slice(cut + 2);
      if (ev === '[DONE]') continue;
      const c = JSON.parse(ev) as {
        choices: { logprobs: { content: unknown[] } | null }[];
        usage?: { completion_tokens: number };
      };
      if (c.usage !== undefined) usage = c.usage.completion_tokens;
      for (const ch of c.choices) tokens += ch.logprobs?.content.length ?? 0;
      if (stopAfter !== null && tokens >= stopAfter) {
        ac.abort();
        await reader.cancel().catch(() => undefined);
        return { tokens, usage, aborted: true };
      }
    }
  }
  return { tokens, usage, aborted: false };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('batching, queueing and disconnects', () => {
  test('many concurrent traces, half aborted mid-way: the emulator stops them and frees their slots', async () => {
    const maxNumSeqs = 12;
    // A time to first token keeps the first wave in the batch while the rest arrive, so a queue forms.
    const emu = await startEmulator({ maxNumSeqs, tokensPerSecond: 400, ttftMs: 300, seed: 1 });
    try {
      const url = `${emu.baseURL}/chat/completions`;
      const n = 36;
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => streamTokens(url, bread(i), i % 2 === 0 ? 10 : null)),
      );
      await until(() => emu.stats().activeSequences === 0 && emu.stats().queuedRequests === 0);
      const wallS = (performance.now() - started) / 1000;
      const s = emu.stats();

      const aborted = results.filter((r) => r.aborted);
      const finished = results.filter((r) => !r.aborted);
      expect(aborted).toHaveLength(n / 2);
      for (const r of finished) expect(r.usage).toBe(r.tokens);
      // Client and server share one event loop here. On a loaded machine a stalled loop makes the
      // server catch up (a few tokens per tick, over several ticks), so a short trace can be fully written
      // before the client's abort reaches it; the server then rightly counts it as completed. Allow one or two.
      expect(s.abortedRequests + s.completedRequests).toBe(n);
      expect(s.abortedRequests).toBeLessThanOrEqual(aborted.length);
      expect(s.abortedRequests).toBeGreaterThanOrEqual(aborted.length - 2);
      expect(s.tokensAfterDisconnect).toBe(0);
      expect(s.peakQueuedRequests).toBeGreaterThan(0);
      expect(s.peakActiveSequences).toBe(maxNumSeqs);
      expect(s.busySeqSeconds).toBeGreaterThan(0);
      expect(s.busySeqSeconds).toBeLessThanOrEqual(maxNumSeqs * wallS * 1.05);

      // What the aborted traces would have cost in full, from the same seeds without aborting.
      const fullLengths = await Promise.all(
        results.map((r, i) =>
          r.aborted ? streamTokens(url, bread(i), null).then((f) => f.tokens) : Promise.resolve(0),
        ),
      );
      const finishedTokens = finished.reduce((a, r) => a + r.tokens, 0);
      const abortedTokens = s.tokensGenerated - finishedTokens;
      const received = aborted.reduce((a, r) => a + r.tokens, 0);
      const full = fullLengths.reduce((a, b) => a + b, 0);
      expect(abortedTokens).toBeGreaterThanOrEqual(received);
      expect(abortedTokens).toBeLessThan(full / 2);
    } finally {
      await emu.close();
    }
  });

  test('a request queued behind a full batch and abandoned is dropped without generating', async () => {
    const emu = await startEmulator({ maxNumSeqs: 1, tokensPerSecond: 200 });
    try {
      const url = `${emu.baseURL}/chat/completions`;
      const first = streamTokens(url, bread(1), null);
      await until(() => emu.stats().activeSequences === 1);
      const ac = new AbortController();
      const second = postJson(url, bread(2), { signal: ac.signal }).catch(() => null);
      await until(() => emu.stats().queuedRequests === 1);
      ac.abort();
      await second;
      await first;
      await until(() => emu.stats().activeSequences === 0 && emu.stats().queuedRequests === 0);
      const s = emu.stats();
      expect(s.abortedRequests).toBe(1);
      expect(s.completedRequests).toBe(1);
      expect(s.tokensGenerated).toBe((await first).tokens);
    } finally {
      await emu.close();
    }
  });
});

describe('faults', () => {
  test('429 and 500 rates, and a per-request hook', async () => {
    const emu = await startEmulator({ faults: { status429Rate: 1 } });
    try {
      const url = `${emu.baseURL}/chat/completions`;
      const r429 = await postJson(url, bread(1));
      expect(r429.status).toBe(429);
      expect(((await r429.json()) as { error: { code: number } }).error.code).toBe(429);
      emu.setFaults({ status500Rate: 1 });
      const r500 = await postJson(url, bread(1));
      expect(r500.status).toBe(500);
      expect(((await r500.json()) as { error: { type: string } }).error.type).toBe('InternalServerError');
      const seen: number[] = [];
      emu.setFaults((ctx: FaultContext) => {
        seen.push(ctx.requestIndex);
        return ctx.requestIndex % 2 === 0 ? { status500Rate: 1 } : undefined;
      });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await postJson(url, bread(i, { max_completion_tokens: 5 }));
        statuses.push(r.status);
        await r.text();
      }
      expect(statuses).toEqual([500, 200, 500, 200]);
      expect(seen).toEqual([2, 3, 4, 5]);
      emu.setFaults(() => ({ status500Rate: 7 }));
      const bad = await postJson(url, bread(1));
      expect(bad.status).toBe(500);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/fault hook.*status500Rate/);
      emu.setFaults({ status429Rate: 0.5 });
      const mixed: number[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await postJson(url, bread(i, { max_completion_tokens: 2 }));
        mixed.push(r.status);
        await r.text();
      }
      expect(mixed.filter((s) => s === 429).length).toBeGreaterThan(5);
      expect(mixed.filter((s) => s === 200).length).toBeGreaterThan(5);
    } finally {
      await emu.close();
    }
  });

  test('a stream cut mid-way has no [DONE]; an in-band error event keeps HTTP 200', async () => {
    const emu = await startEmulator({ faults: { cutStreamAfterTokens: 5 } });
    try {
      const url = `${emu.baseURL}/chat/completions`;
      const res = await postJson(url, bread(1));
      expect(res.status).toBe(200);
      const outcome = await res.text().then(
        (t) => (t.includes('[DONE]') ? 'complete' : 'truncated'),
        () => 'terminated',
      );
      expect(outcome).not.toBe('complete');
      await until(() => emu.stats().cutStreams === 1 && emu.stats().activeSequences === 0);
      expect(emu.stats()).toMatchObject({ failedRequests: 1, completedRequests: 0 });

      emu.setFaults({ errorEventAfterTokens: 3 });
      const err = await postJson(url, bread(1));
      expect(err.status).toBe(200);
      const events = sseEvents(await err.text());
      expect(events[events.length - 1]).toBe('[DONE]');
      const errorEvent = JSON.parse(events[events.length - 2] as string) as {
        error: { code: number; message: string };
      };
      expect(errorEvent.error.code).toBe(500);
      // role chunk + 3 token chunks before the error
      expect(events.length).toBe(1 + 3 + 2);
    } finally {
      await emu.close();
    }
  });

  test('slowFactor stretches the time to first token (read from the injected clock)', async () => {
    const clock = { t: 0 };
    const emu = await startEmulator({ ttftMs: 50, now: () => clock.t, faults: { slowFactor: 4 } });
    try {
      const pending = streamTokens(`${emu.baseURL}/chat/completions`, bread(1), null);
      await until(() => emu.stats().activeSequences === 1);
      // 150 ms of emulator time is past the nominal 50 ms but before 4 × 50 ms.
      clock.t = 150;
      await new Promise((r) => setTimeout(r, 300));
      expect(emu.stats().tokensGenerated).toBe(0);
      clock.t = 250;
      const done = await pending;
      expect(done.tokens).toBeGreaterThan(0);
      expect(done.usage).toBe(done.tokens);
    } finally {
      await emu.close();
    }
  });

  test('refused connections, then recovery; unhealthy /health is 503', async () => {
    const emu = await startEmulator({ faults: { refuseConnections: true } });
    try {
      await expect(fetch(`${emu.url}/health`)).rejects.toThrow();
      emu.setFaults({ unhealthy: true });
      expect((await fetch(`${emu.url}/health`)).status).toBe(503);
      emu.setFaults(undefined);
      expect((await fetch(`${emu.url}/health`)).status).toBe(200);
    } finally {
      await emu.close();
    }
  });
});
