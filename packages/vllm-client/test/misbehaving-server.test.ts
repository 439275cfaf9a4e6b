import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { VllmClient, type VllmClientOptions } from '@deepconf-safety/vllm-client';
import { traceRequest } from './replay-server.js';
import { startMisbehavingServer, type MisbehavingServer } from './support/misbehaving.js';

// Integration (issue 14, principle 1): a server in a process of its own that stalls, resets, streams for ever or
// sends garbage. Every trace ends, on every transport, with an error whose code and message name what happened, and
// with no more requests than maxRetries allows. No wall-clock bound is asserted: the outcome is.

let server: MisbehavingServer;
beforeAll(async () => {
  server = await startMisbehavingServer();
});
afterAll(async () => {
  await server?.close();
});

const req = traceRequest({ prompt: 'x', maxTokens: 50 });

const client = (mode: string, transport: 'lean' | 'sdk', over: Partial<VllmClientOptions> = {}) =>
  new VllmClient({
    baseURLs: [server.url(mode)],
    model: 'm',
    transport,
    env: {},
    retryBaseMs: 1,
    retryMaxMs: 5,
    reprobeAfterMs: 0,
    ...over,
  });

/** Requests the server received for `mode` while `run` ran. */
async function requestsDuring(mode: string, run: () => Promise<unknown>): Promise<number> {
  const before = (await server.counts())[mode] ?? 0;
  await run();
  return ((await server.counts())[mode] ?? 0) - before;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    (r) => {
      throw new Error(`expected the trace to fail, it returned ${JSON.stringify(r).slice(0, 200)}`);
    },
    (e: unknown) => e,
  );

describe.each(['lean', 'sdk'] as const)('a misbehaving server (%s transport)', (transport) => {
  test('stall before the headers: the trace deadline ends it, naming the phase; not retried', async () => {
    let err: unknown;
    const n = await requestsDuring('stall-headers', async () => {
      err = await failure(client('stall-headers', transport, { traceTimeoutMs: 1_500, maxRetries: 2 }).runTrace(req));
    });
    expect(err).toMatchObject({
      code: 'trace_timeout',
      attempts: 1,
      message: expect.stringMatching(/^trace timeout after 1\.5 s: .* sent no response headers/),
    });
    expect(n).toBe(1);
  }, 30_000);

  // Issue 14, principle 1: before --first-token-timeout existed only the 600 s trace deadline ended these.
  // The wait is short where the phase cannot change (no headers ever), and longer where the headers must arrive
  // first, so that a loaded machine does not turn "accepted" into "no headers".
  test.each([
    ['stall-headers', 300, 'sent no response headers'],
    ['stall-role', 1_000, 'accepted the request but sent no token'],
    ['endless-comments', 1_000, 'accepted the request but sent no token'],
  ] as const)(
    '%s: "no first token after %d ms", retried maxRetries times, long before the trace deadline',
    async (mode, ms, phase) => {
      let err: unknown;
      const n = await requestsDuring(mode, async () => {
        err = await failure(
          client(mode, transport, { firstTokenTimeoutMs: ms, traceTimeoutMs: 120_000, maxRetries: 2 }).runTrace(req),
        );
      });
      expect(err).toMatchObject({ code: 'first_token_timeout', attempts: 3, tokens: 0 });
      const s = String(ms / 1000).replace('.', '\\.');
      expect((err as Error).message).toMatch(
        new RegExp(
          `^no first token after ${s} s: vLLM at http://127\\.0\\.0\\.1:\\d+/${mode}/v1 ${phase}.* \\(3 attempts\\)$`,
        ),
      );
      expect(n).toBe(3);
    },
    30_000,
  );

  test('the first-token wait ends at the first token: a stall after it is the idle timeout', async () => {
    const err = await failure(
      client('stall-mid', transport, { firstTokenTimeoutMs: 60_000, idleTimeoutMs: 300, maxRetries: 0 }).runTrace(req),
    );
    expect(err).toMatchObject({ code: 'idle_timeout', tokens: 3, attempts: 1 });
  }, 30_000);

  test('stall mid-stream: "timeout after 0.5 s idle", retried maxRetries times', async () => {
    let err: unknown;
    const n = await requestsDuring('stall-mid', async () => {
      err = await failure(client('stall-mid', transport, { idleTimeoutMs: 500, maxRetries: 1 }).runTrace(req));
    });
    expect(err).toMatchObject({
      code: 'idle_timeout',
      attempts: 2,
      tokens: 3,
      message: expect.stringMatching(
        /^timeout after 0\.5 s idle: vLLM at .* sent nothing after 3 tokens \(2 attempts\)$/,
      ),
    });
    expect(n).toBe(2);
  }, 30_000);

  test('a server that resets every connection: "connection reset by <host> (3 attempts)", 3 requests', async () => {
    let err: unknown;
    const n = await requestsDuring('reset', async () => {
      err = await failure(client('reset', transport, { maxRetries: 2 }).runTrace(req));
    });
    expect(err).toMatchObject({ code: 'connection', attempts: 3 });
    expect((err as Error).message).toMatch(/^connection reset by 127\.0\.0\.1:\d+.*\(3 attempts\)$/);
    expect(n).toBe(3);
  }, 30_000);

  test('a reset after two tokens: a connection error naming the reset mid-stream', async () => {
    const err = await failure(client('reset-mid', transport, { maxRetries: 0 }).runTrace(req));
    expect(err).toMatchObject({ code: 'connection', attempts: 1, tokens: 2 });
    expect((err as Error).message).toMatch(/^connection reset by 127\.0\.0\.1:\d+ mid-stream/);
  }, 30_000);

  test('an endless stream of tokens: the client counts them and ends the trace at max_tokens', async () => {
    const r = await client('endless', transport).runTrace(req);
    expect(r).toMatchObject({ tokens: 50, stopReason: 'length', serverFinishReason: null, attempts: 1 });
    expect(r.confidences).toHaveLength(50);
  }, 30_000);

  test('an endless stream without tokens: the trace deadline ends it', async () => {
    const err = await failure(
      client('endless-comments', transport, { traceTimeoutMs: 1_000, idleTimeoutMs: 100 }).runTrace(req),
    );
    expect(err).toMatchObject({
      code: 'trace_timeout',
      message: expect.stringMatching(/accepted the request but sent no token/),
    });
  }, 30_000);

  test('garbage events: a protocol error, not retried', async () => {
    let err: unknown;
    const n = await requestsDuring('garbage-events', async () => {
      err = await failure(client('garbage-events', transport, { maxRetries: 3 }).runTrace(req));
    });
    expect(err).toMatchObject({ code: 'protocol', attempts: 1 });
    expect(n).toBe(1);
  }, 30_000);

  test('the finish chunk, then the connection ends (or resets) before [DONE]: a finished trace, as on every transport', async () => {
    for (const mode of ['finish-then-end', 'finish-then-reset']) {
      const r = await client(mode, transport, { maxRetries: 0 }).runTrace(req);
      expect(r).toMatchObject({
        stopReason: 'finished',
        tokens: 3,
        serverFinishReason: 'stop',
        usage: null,
        text: 't0 t1 ',
      });
    }
  }, 30_000);

  test("vLLM's older flat error body keeps its message (400, not retried)", async () => {
    let err: unknown;
    const n = await requestsDuring('flat-400', async () => {
      err = await failure(client('flat-400', transport, { maxRetries: 3 }).runTrace(req));
    });
    expect(err).toMatchObject({
      code: 'bad_request',
      status: 400,
      message: expect.stringMatching(/maximum context length is 4096 tokens/),
    });
    expect(n).toBe(1);
  }, 30_000);

  test('maxRetries N sends at most N + 1 requests (500 on every request)', async () => {
    for (const retries of [0, 2]) {
      let err: unknown;
      const n = await requestsDuring('always-500', async () => {
        err = await failure(client('always-500', transport, { maxRetries: 9 }).runTrace(req, { maxRetries: retries }));
      });
      expect(err).toMatchObject({ code: 'server', status: 500, attempts: retries + 1 });
      expect(n).toBe(retries + 1);
    }
  }, 30_000);
});

test('a server that does not speak HTTP: a protocol error naming it, not retried (lean)', async () => {
  let err: unknown;
  const n = await requestsDuring('garbage', async () => {
    err = await failure(client('garbage', 'lean', { maxRetries: 3 }).runTrace(req));
  });
  expect(err).toMatchObject({
    code: 'protocol',
    attempts: 1,
    message: expect.stringMatching(/did not answer HTTP \(HPE_/),
  });
  expect(n).toBe(1);
}, 30_000);
