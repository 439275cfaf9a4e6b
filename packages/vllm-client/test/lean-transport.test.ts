import { afterEach, describe, expect, test } from '@jest/globals';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { VllmClient } from '@deepconf-safety/vllm-client';
import { DONE, chatChunk, entry, event, roleChunk, simpleEntry, traceRequest, usageChunk } from './replay-server.js';

const req = traceRequest({ prompt: 'q', maxTokens: 64 });

/** A stream of `n` tokens, ending with a finish chunk, usage and [DONE]. */
function stream(n: number): string {
  let body = roleChunk();
  for (let i = 0; i < n; i++) body += chatChunk(`t${i} `, [simpleEntry(`t${i} `, i)]);
  body += chatChunk('', null, { finish_reason: 'stop', stop_reason: null });
  return body + usageChunk(3, n) + DONE;
}

type KeepAliveServer = {
  baseURL: string;
  /** Every connection the server accepted, in order. */
  connections: Socket[];
  /** Requests per connection index, and whether the server killed them. */
  requests: { connection: number; killed: boolean }[];
  /** When set, a request arriving on an already used connection gets the socket reset instead of an answer. */
  resetReused: boolean;
  /** When set, every request gets its socket reset. */
  resetAll: boolean;
  /** Silence in the middle of each answer (after the first event), in ms. */
  pauseMs: number;
  /** Send the whole stream, [DONE] included, but never end the response. */
  lingerAfterDone: boolean;
  /** Connections the client closed, by index. */
  closedByClient: number[];
  close(): Promise<void>;
};

/**
 * A server that never closes idle connections by itself (so only the client can), and can reset a keep-alive
 * connection at the moment the next request arrives on it: the client's side of the keep-alive race, every time.
 */
async function startKeepAliveServer(body: string): Promise<KeepAliveServer> {
  const served = new WeakSet<Socket>();
  const state: KeepAliveServer = {
    baseURL: '',
    connections: [],
    requests: [],
    resetReused: false,
    resetAll: false,
    pauseMs: 0,
    lingerAfterDone: false,
    closedByClient: [],
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer({ keepAliveTimeout: 60_000 }, (request, res) => {
    const socket = request.socket;
    const kill = state.resetAll || (state.resetReused && served.has(socket));
    state.requests.push({ connection: state.connections.indexOf(socket), killed: kill });
    if (kill) {
      socket.resetAndDestroy();
      return;
    }
    served.add(socket);
    request.resume();
    request.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (state.lingerAfterDone) return void res.write(body);
      if (state.pauseMs === 0) return void res.end(body);
      const cut = body.indexOf('\n\n') + 2;
      res.write(body.slice(0, cut));
      setTimeout(() => res.end(body.slice(cut)), state.pauseMs);
    });
  });
  server.on('connection', (s: Socket) => {
    const index = state.connections.push(s) - 1;
    s.on('close', () => state.closedByClient.push(index));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}

let server: KeepAliveServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('keep-alive sockets (lean transport)', () => {
  test('a request whose reused socket is reset before any answer is resent at once on a new connection, using no retry', async () => {
    server = await startKeepAliveServer(stream(5));
    const logs: string[] = [];
    const sleeps: number[] = [];
    const client = new VllmClient({
      baseURLs: [server.baseURL],
      model: 'm',
      maxRetries: 0,
      env: {},
      log: (m) => logs.push(m),
      sleep: async (ms) => void sleeps.push(ms),
    });
    const first = await client.runTrace(req);
    expect(first.tokens).toBe(5);
    server.resetReused = true;
    const second = await client.runTrace(req);
    expect(second.tokens).toBe(5);
    expect(second.text).toBe(first.text);
    expect(Array.from(second.confidences)).toEqual(Array.from(first.confidences));
    expect(second.attempts).toBe(1);
    // The second request went to the first connection, was reset there, and was answered on a new one.
    expect(server.requests).toEqual([
      { connection: 0, killed: false },
      { connection: 0, killed: true },
      { connection: 1, killed: false },
    ]);
    expect(sleeps).toEqual([]);
    expect(logs.filter((l) => l.includes('taken out'))).toEqual([]);
  });

  test('a reset on a new connection is a real failure: it is not resent forever', async () => {
    server = await startKeepAliveServer(stream(2));
    const client = new VllmClient({ baseURLs: [server.baseURL], model: 'm', maxRetries: 0, env: {} });
    await client.runTrace(req);
    server.resetAll = true;
    await expect(client.runTrace(req)).rejects.toMatchObject({ code: 'connection' });
    // One request on the reused socket, one resend on a fresh one, then the error.
    expect(server.requests.slice(1).map((r) => r.killed)).toEqual([true, true]);
  });

  test('idle sockets are closed by the client after idleSocketMs, before the server would', async () => {
    server = await startKeepAliveServer(stream(2));
    const client = new VllmClient({ baseURLs: [server.baseURL], model: 'm', idleSocketMs: 50, env: {} });
    await client.runTrace(req);
    const socket = server.connections[0]!;
    // The server keeps idle connections for a minute, so this close can only come from the client's agent.
    if (!socket.destroyed) await once(socket, 'close');
    await client.runTrace(req);
    expect(server.requests).toEqual([
      { connection: 0, killed: false },
      { connection: 1, killed: false },
    ]);
  });

  test('a stream silent for longer than idleSocketMs is not cut (the idle timeout is for idle sockets only)', async () => {
    server = await startKeepAliveServer(stream(3));
    server.pauseMs = 200;
    const client = new VllmClient({ baseURLs: [server.baseURL], model: 'm', idleSocketMs: 20, maxRetries: 0, env: {} });
    const r = await client.runTrace(req);
    expect(r.tokens).toBe(3);
    expect(server.requests).toEqual([{ connection: 0, killed: false }]);
  });

  test('idle sockets are reused while fresh', async () => {
    server = await startKeepAliveServer(stream(2));
    const client = new VllmClient({ baseURLs: [server.baseURL], model: 'm', env: {} });
    await client.runTrace(req);
    await client.runTrace(req);
    expect(server.requests.map((r) => r.connection)).toEqual([0, 0]);
  });
});

describe('the end of a stream', () => {
  test('a response that lingers after [DONE] neither delays the trace nor keeps its socket', async () => {
    server = await startKeepAliveServer(stream(3));
    server.lingerAfterDone = true;
    const client = new VllmClient({ baseURLs: [server.baseURL], model: 'm', maxRetries: 0, env: {} });
    const r = await client.runTrace(req);
    expect(r.tokens).toBe(3);
    expect(r.stopReason).toBe('finished');
    // Resolved at [DONE], while the response was still open.
    expect(server.closedByClient).toEqual([]);
    // Polled, with room for a loaded machine: the socket goes DONE_GRACE_MS (1 s) after [DONE].
    for (let i = 0; i < 200 && server.closedByClient.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.closedByClient).toEqual([0]);
  });

  test.each(['lean', 'sdk'] as const)(
    '%s: an error thrown by onToken reaches the caller untouched and drops the stream',
    async (transport) => {
      server = await startKeepAliveServer(stream(20));
      server.lingerAfterDone = true;
      const client = new VllmClient({ baseURLs: [server.baseURL], model: 'm', transport, maxRetries: 0, env: {} });
      const mine = new Error('the caller broke');
      await expect(
        client.runTrace(req, {
          onToken: (t) =>
            t.index === 2
              ? (() => {
                  throw mine;
                })()
              : false,
        }),
      ).rejects.toBe(mine);
      for (let i = 0; i < 400 && server.closedByClient.length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(server.closedByClient).toEqual([0]);
    },
  );
});

describe("lean transport (chunk scanner) vs sdk (the SDK's parser and JSON.parse only)", () => {
  test('identical TraceResults on a stream with escapes, exponents, reasoning and several entries per chunk', async () => {
    let body = roleChunk();
    const tokens = ['"quoted"', 'back\\slash', 'é', '😀', ' plain', '\u2028'];
    for (let i = 0; i < 60; i++) {
      const t = tokens[i % tokens.length]!;
      const e =
        i % 5 === 0
          ? entry(t, -1e-5, [
              ['x', -9999.0],
              ['y', -2.5e-7],
              ['z', -3],
            ])
          : simpleEntry(t, i);
      if (i % 7 === 3) body += chatChunk(null, [e, simpleEntry('more', i + 1)], {}, { reasoning_content: `r${i}` });
      else body += chatChunk(t, [e]);
    }
    body += event({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'length', stop_reason: null }] });
    body += usageChunk(3, 60) + DONE;
    server = await startKeepAliveServer(body);
    const run = async (transport: 'lean' | 'sdk') => {
      const seen: unknown[] = [];
      const client = new VllmClient({ baseURLs: [server!.baseURL], model: 'm', transport, env: {} });
      const r = await client.runTrace(
        { ...req, maxTokens: 100, thinking: true },
        { onToken: (t) => (seen.push(t), false) },
      );
      return { seen, r: { ...r, latencyMs: 0, ttftMs: 0, confidences: Array.from(r.confidences) } };
    };
    const lean = await run('lean');
    const reference = await run('sdk');
    expect(lean.r.tokens).toBe(60 + 9);
    expect(lean).toEqual(reference);
    lean.r.confidences.forEach((c, i) => expect(Object.is(c, reference.r.confidences[i])).toBe(true));
  });
});
