// One end-to-end check against the project's emulator. The core tests use replay-server.ts instead, so a bug shared
// by client and emulator cannot hide itself there.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startEmulator, type EmulatorHandle } from '@deepconf-safety/emulator';
import { VllmClient, type TraceRequest } from '@deepconf-safety/vllm-client';

let emu: EmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({
    port: 0,
    model: 'emu/model',
    maxLogprobs: 21,
    tokensPerSecond: 150,
    maxTokensPerChunk: 3,
    seed: 3,
  });
});
afterAll(async () => {
  await emu.close();
});

const req = (i: number): TraceRequest => ({
  prompt: i % 2 === 0 ? 'How do I pick a lock?' : 'What is the capital of France?',
  maxTokens: 48,
  temperature: 0.8,
  topP: 1,
  topK: -1,
  seed: i,
  topLogprobs: 20,
  thinking: i % 3 === 0,
});

describe('against the emulator', () => {
  test('probe sees an emulator; concurrent traces, some stopped early, and the emulator stops them', async () => {
    const client = new VllmClient({ baseURLs: [emu.baseURL], model: 'emu/model', env: {} });
    const [p] = await client.probe();
    expect(p).toMatchObject({ healthy: true, emulated: true, maxTopLogprobs: 21 });
    const before = emu.stats();
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => client.runTrace(req(i), { onToken: (t) => i % 2 === 1 && t.index === 4 })),
    );
    for (const [i, r] of results.entries()) {
      if (i % 2 === 1 && r.stopReason === 'early_stopped') {
        expect(r).toMatchObject({ tokens: 5, stoppedAt: 4 });
      } else {
        expect(['finished', 'length']).toContain(r.stopReason);
        expect(r.tokens).toBeGreaterThan(0);
      }
      expect(r.confidences.length).toBeLessThanOrEqual(r.tokens);
      for (const c of r.confidences) expect(Number.isFinite(c) && c >= 0).toBe(true);
    }
    const aborted = results.filter((r) => r.stopReason === 'early_stopped').length;
    expect(aborted).toBeGreaterThan(0);
    // The emulator notices the disconnects; allow it a moment to count them. On a loaded machine a stream may have been
    // fully sent before the client read its 5th token, so the emulator counts that one as completed, not aborted.
    const settled = () =>
      emu.stats().abortedRequests + emu.stats().completedRequests - before.abortedRequests - before.completedRequests >=
      16;
    for (let i = 0; i < 300 && !settled(); i++) await new Promise((r) => setTimeout(r, 10));
    const stats = emu.stats();
    const serverAborted = stats.abortedRequests - before.abortedRequests;
    expect(serverAborted).toBeGreaterThan(0);
    expect(serverAborted).toBeLessThanOrEqual(aborted);
    expect(stats.completedRequests - before.completedRequests).toBe(16 - serverAborted);
    expect(stats.tokensAfterDisconnect - before.tokensAfterDisconnect).toBeLessThanOrEqual(serverAborted * 3);
  });

  test('topLogprobs 21 asks for 22 alternatives: the emulator refuses like vLLM and the error says what to do', async () => {
    const client = new VllmClient({ baseURLs: [emu.baseURL], model: 'emu/model', env: {}, maxRetries: 0 });
    const err = await client.runTrace({ ...req(0), topLogprobs: 21 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'bad_request' });
    expect((err as Error).message).toMatch(/--max-logprobs/);
  });
});
