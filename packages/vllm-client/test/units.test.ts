import { describe, expect, test } from '@jest/globals';
import { buildBody } from '../src/internal/request-body.js';
import { EndpointPool } from '../src/endpoint-pool.js';
import { errorFromStatus, retryAfterMs } from '../src/http-errors.js';
import { VllmClient } from '../src/client.js';

describe('EndpointPool', () => {
  const make = (n: number, now = () => 0, health = async () => true) =>
    new EndpointPool(
      Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:8000/v1/`),
      { reprobeAfterMs: 100, now, healthCheck: health },
    );

  test('least in flight, ties spread, releases counted', () => {
    const pool = make(3);
    const got = Array.from({ length: 6 }, () => pool.acquire());
    expect(pool.endpoints.map((e) => e.inFlight)).toEqual([2, 2, 2]);
    pool.release(got[0]!);
    pool.release(got[0]!);
    expect(pool.acquire()).toBe(got[0]);
  });

  test('a retry avoids the endpoint that just failed when another is as free', () => {
    const pool = make(2);
    const first = pool.acquire();
    pool.release(first);
    expect(pool.acquire(first)).not.toBe(first);
  });

  test('down endpoints are skipped; when all are down the soonest-retryable is used; health brings one back', async () => {
    let t = 0;
    let healthy = false;
    const pool = make(
      2,
      () => t,
      async () => healthy,
    );
    const [a, b] = pool.endpoints as [never, never];
    pool.markDown(a);
    expect(pool.acquire()).toBe(b);
    t = 10;
    pool.markDown(b);
    expect(pool.acquire()).toBe(a); // both down: a may be retried first
    t = 200;
    healthy = true;
    pool.acquire(); // triggers background /health checks
    await new Promise((r) => setTimeout(r, 0));
    expect(pool.endpoints.every((e) => e.healthy)).toBe(true);
  });

  test('normalises URLs, strips credentials, rejects bad and duplicate entries', () => {
    const pool = new EndpointPool(['http://user:pw@h:1/v1/'], {
      reprobeAfterMs: 1,
      now: () => 0,
      healthCheck: async () => true,
    });
    expect(pool.endpoints[0]).toMatchObject({ baseURL: 'http://h:1/v1', root: 'http://h:1' });
    expect(() => make(0)).toThrow(/empty/);
    expect(
      () => new EndpointPool(['nope'], { reprobeAfterMs: 1, now: () => 0, healthCheck: async () => true }),
    ).toThrow(/not a URL/);
    expect(
      () =>
        new EndpointPool(['http://h/v1', 'http://h/v1/'], {
          reprobeAfterMs: 1,
          now: () => 0,
          healthCheck: async () => true,
        }),
    ).toThrow(/twice/);
  });
});

describe('retry-after', () => {
  test('seconds, milliseconds and HTTP dates', () => {
    const now = () => Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }), now)).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(retryAfterMs(new Headers(), now)).toBeNull();
  });

  test('429 errors carry it; messages redact the key', () => {
    const err = errorFromStatus(
      429,
      { error: { message: 'busy for sk-1', type: 'RateLimitError', param: null, code: 429 } },
      new Headers({ 'retry-after': '2' }),
      {
        endpoint: 'http://h/v1',
        model: 'm',
        apiKey: 'sk-1',
        now: () => 0,
      },
    );
    expect(err).toMatchObject({ status: 429, retryAfterMs: 2000 });
    expect(err.message).not.toContain('sk-1');
  });
});

describe('buildBody', () => {
  const request = {
    prompt: 'P',
    system: 'S',
    maxTokens: 5,
    temperature: 0,
    topP: 1,
    topK: 0,
    seed: 3,
    topLogprobs: 20,
    thinking: true,
  };
  test('completions: raw prompt with the system text before it, K logprobs, token ids, no chat fields', () => {
    const body = buildBody('completions', 'm', request);
    expect(body).toMatchObject({
      prompt: 'S\n\nP',
      logprobs: 20,
      return_tokens_as_token_ids: true,
      n: 1,
      temperature: 0,
      top_k: 0,
      seed: 3,
      max_tokens: 5,
    });
    expect(body).not.toHaveProperty('messages');
    expect(body).not.toHaveProperty('chat_template_kwargs');
  });
  test('chat: K+1 top_logprobs', () => {
    expect(buildBody('chat', 'm', request)).toMatchObject({
      logprobs: true,
      top_logprobs: 21,
      chat_template_kwargs: { enable_thinking: true },
    });
  });
});

describe('client options', () => {
  // A Node timer beyond 2^31 - 1 ms is clamped to 1 ms: such a traceTimeoutMs ended every trace at once.
  test.each(['traceTimeoutMs', 'idleTimeoutMs', 'firstTokenTimeoutMs'] as const)(
    '%s beyond what a timer holds is refused, naming the option',
    (name) => {
      const make = () => new VllmClient({ baseURLs: ['http://127.0.0.1:9/v1'], model: 'm', env: {}, [name]: 3e9 });
      expect(make).toThrow(expect.objectContaining({ code: 'config', message: expect.stringContaining(name) }));
    },
  );
});
