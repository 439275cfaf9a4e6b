import type { z } from 'zod';

/**
 * A fast path for the JSONL records' zod schemas, derived from the schemas themselves (so they stay the contract):
 * zod's generic checks were most of the time of reading a large run store. The compiled check accepts only what the
 * schema accepts and returns the same output (zod's key order, unknown keys kept by a loose object and stripped by
 * a strict one); anything it is not sure about makes it answer "don't know" (undefined), and the caller asks zod,
 * which then also words the error. A schema with a construct this compiler does not handle compiles to null.
 */
export type FastParse = (value: unknown) => { value: unknown } | undefined;

type Check = (value: unknown) => { value: unknown } | undefined;

// The subset of zod 4's definitions (`schema._zod.def`, zod's documented interface for tools) that our record
// schemas use.
interface Def {
  type: string;
  checks?: Array<{ _zod: { def: { check: string; format?: string; value?: unknown; inclusive?: boolean } } }>;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  catchall?: Schema;
  element?: Schema;
  items?: Schema[];
  rest?: Schema | null;
  entries?: Record<string, unknown>;
  values?: unknown[];
}
interface Schema {
  _zod: { def: Def };
}

const ok = (value: unknown) => ({ value });

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function numberCheck(def: Def): Check | null {
  const bounds: Array<(n: number) => boolean> = [];
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'number_format' && d.format === 'safeint') bounds.push(Number.isSafeInteger);
    else if (d.check === 'greater_than' && typeof d.value === 'number') {
      const min = d.value;
      bounds.push(d.inclusive ? (n) => n >= min : (n) => n > min);
    } else if (d.check === 'less_than' && typeof d.value === 'number') {
      const max = d.value;
      bounds.push(d.inclusive ? (n) => n <= max : (n) => n < max);
    } else return null;
  }
  // zod 4's number refuses NaN and ±Infinity (JSON.parse gives Infinity for 1e999).
  return (v) => (typeof v === 'number' && Number.isFinite(v) && bounds.every((b) => b(v)) ? ok(v) : undefined);
}

function objectCheck(def: Def): Check | null {
  const catchall = def.catchall?._zod.def.type;
  // A strict object (no catchall) strips unknown keys; a loose one (catchall unknown) keeps them after the shape's.
  if (catchall !== undefined && catchall !== 'unknown') return null;
  const keep = catchall === 'unknown';
  const fields: Array<{ key: string; optional: boolean; check: Check }> = [];
  for (const [key, schema] of Object.entries(def.shape ?? {})) {
    const d = schema._zod.def;
    const optional = d.type === 'optional';
    const check = compile(optional ? (d.innerType as Schema) : schema);
    if (check === null) return null;
    fields.push({ key, optional, check });
  }
  const known = new Set(fields.map((f) => f.key));
  return (v) => {
    if (!isPlainObject(v)) return undefined;
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const raw = v[f.key];
      if (raw === undefined) {
        if (f.optional && !Object.hasOwn(v, f.key)) continue;
        return undefined;
      }
      const r = f.check(raw);
      if (r === undefined) return undefined;
      out[f.key] = r.value;
    }
    if (keep)
      for (const key of Object.keys(v)) {
        if (known.has(key)) continue;
        // Assigning it would set the prototype: leave that record to zod.
        if (key === '__proto__') return undefined;
        out[key] = v[key];
      }
    return ok(out);
  };
}

function arrayCheck(def: Def): Check | null {
  if ((def.checks ?? []).length > 0) return null;
  const element = compile(def.element as Schema);
  if (element === null) return null;
  return (v) => {
    if (!Array.isArray(v)) return undefined;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const r = element(v[i]);
      if (r === undefined) return undefined;
      out[i] = r.value;
    }
    return ok(out);
  };
}

function tupleCheck(def: Def): Check | null {
  if (def.rest !== null && def.rest !== undefined) return null;
  const items = (def.items ?? []).map(compile);
  if (items.some((c) => c === null)) return null;
  const checks = items as Check[];
  return (v) => {
    if (!Array.isArray(v) || v.length !== checks.length) return undefined;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < checks.length; i++) {
      const r = (checks[i] as Check)(v[i]);
      if (r === undefined) return undefined;
      out[i] = r.value;
    }
    return ok(out);
  };
}

function compile(schema: Schema): Check | null {
  const def = schema._zod.def;
  const plain = (def.checks ?? []).length === 0;
  switch (def.type) {
    case 'string':
      return plain ? (v) => (typeof v === 'string' ? ok(v) : undefined) : null;
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? ok(v) : undefined);
    case 'number':
      return numberCheck(def);
    case 'unknown':
      return ok;
    case 'enum': {
      const values = new Set(Object.values(def.entries ?? {}));
      return (v) => ((typeof v === 'string' || typeof v === 'number') && values.has(v) ? ok(v) : undefined);
    }
    case 'literal': {
      const values = new Set(def.values ?? []);
      return (v) => (values.has(v) ? ok(v) : undefined);
    }
    case 'nullable': {
      const inner = compile(def.innerType as Schema);
      return inner === null ? null : (v) => (v === null ? ok(null) : inner(v));
    }
    case 'object':
      return objectCheck(def);
    case 'array':
      return arrayCheck(def);
    case 'tuple':
      return tupleCheck(def);
    default:
      return null;
  }
}

const compiled = new WeakMap<object, FastParse | null>();

/** The fast path of `schema` (compiled once per schema), or null when it uses what the compiler does not handle. */
export function fastParser(schema: z.ZodType): FastParse | null {
  let f = compiled.get(schema);
  if (f === undefined) {
    f = compile(schema as unknown as Schema);
    compiled.set(schema, f);
  }
  return f;
}

/**
 * `schema.safeParse(value)`, through the fast path when the value passes it; zod decides (and words the error)
 * whenever it does not.
 */
export function parseRecord<S extends z.ZodType>(schema: S, value: unknown): z.ZodSafeParseResult<z.output<S>> {
  const fast = fastParser(schema)?.(value);
  if (fast !== undefined) return { success: true, data: fast.value as z.output<S> };
  return schema.safeParse(value);
}
