// Test-side protocol helpers, written independently of the emulator's code on purpose:
// a bug shared between the generator and the checker would hide itself.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../test-fixtures/vllm/', import.meta.url));

export function readFixture(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

/** Splits an SSE body into `data:` payloads; asserts vLLM's framing (only `data: ` lines, blank-line separated). */
export function sseEvents(body: string): string[] {
  if (!body.endsWith('\n\n'))
    throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  const events = body.slice(0, -2).split('\n\n');
  return events.map((e) => {
    if (!e.startsWith('data: ') || e.includes('\n'))
      throw new Error(`not a single data line: ${JSON.stringify(e.slice(0, 80))}`);
    return e.slice(6);
  });
}

/** JSON payloads (without the final [DONE]), after checking [DONE] is last and only last. */
export function sseJson(body: string): Record<string, unknown>[] {
  const ev = sseEvents(body);
  if (ev[ev.length - 1] !== '[DONE]') throw new Error('stream does not end with [DONE]');
  if (ev.slice(0, -1).includes('[DONE]')) throw new Error('[DONE] before the end');
  return ev.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
}

/**
 * Structural skeleton of a JSON value: key order, nulls and types; arrays become the set of
 * their elements' skeletons (lengths differ between runs).
 */
export function shape(v: unknown, loose = false): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    const inner = [...new Set(v.map((x) => shape(x, loose)))].sort();
    return `[${inner.join('|')}]`;
  }
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}:${shape(x, loose)}`)
      .join(',')}}`;
  }
  if (typeof v === 'number') return Number.isInteger(v) && !loose ? 'int' : 'number';
  return typeof v;
}

/** Like shape(), but numbers are just numbers (a float may print as an integer, e.g. -12.0). */
export function looseShape(v: unknown): string {
  return shape(v, true);
}

export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: JSON.stringify(body),
  });
}

export type Obj = Record<string, unknown>;
export const choicesOf = (chunk: Obj): Obj[] => chunk['choices'] as Obj[];
