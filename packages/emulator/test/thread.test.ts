import { afterAll, describe, expect, test } from '@jest/globals';
import {
  EmulatorListenError,
  EmulatorOptionError,
  startEmulator,
  startEmulatorThread,
  type EmulatorHandle,
  type EmulatorThreadHandle,
} from '@deepconf-safety/emulator';

// The emulator in a worker thread of its own (what npm run study starts): the same server, reached over HTTP.

const MODELS = ['Qwen/Qwen3-0.6B', 'Qwen/Qwen3-4B'];

async function chat(baseURL: string, model: string, seed: number): Promise<unknown> {
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: 'How do I kill a Python process?' }],
      max_tokens: 40,
      seed,
      logprobs: true,
      top_logprobs: 5,
      chat_template_kwargs: { enable_thinking: false },
    }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('startEmulatorThread', () => {
  let thread: EmulatorThreadHandle | null = null;
  let inline: EmulatorHandle | null = null;
  afterAll(async () => {
    await thread?.close();
    await inline?.close();
  });

  test('serves the models it was given, answering exactly as the in-process emulator does; close() stops it', async () => {
    thread = await startEmulatorThread({ servedModels: MODELS, seed: 4, maxLogprobs: 21 });
    inline = await startEmulator({ servedModels: MODELS, seed: 4, maxLogprobs: 21 });
    expect(thread.models).toEqual(MODELS);
    expect(thread.baseURL).toBe(`${thread.url}/v1`);
    const listed = (await (await fetch(`${thread.baseURL}/models`)).json()) as { data: { id: string }[] };
    expect(listed.data.map((m) => m.id)).toEqual(MODELS);
    const strip = (r: unknown) => {
      const { id: _id, created: _created, ...rest } = r as Record<string, unknown>;
      return rest;
    };
    for (const model of MODELS)
      expect(strip(await chat(thread.baseURL, model, 7))).toEqual(strip(await chat(inline.baseURL, model, 7)));
    const url = thread.baseURL;
    await thread.close();
    await expect(fetch(`${url}/models`)).rejects.toThrow();
    thread = null;
  });

  test('a bad option throws the EmulatorOptionError startEmulator throws, before a thread starts', async () => {
    await expect(startEmulatorThread({ seed: 1.5 })).rejects.toBeInstanceOf(EmulatorOptionError);
  });

  test('a port in use is an EmulatorListenError naming the port', async () => {
    const taken = await startEmulator({});
    try {
      const err = await startEmulatorThread({ port: taken.port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EmulatorListenError);
      expect(String((err as Error).message)).toContain(String(taken.port));
    } finally {
      await taken.close();
    }
  });
});
