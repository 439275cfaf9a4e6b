import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal configs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

export function configHash(config: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/** Human-readable differences between two configs ("traces: 8 → 16"), for resume refusals. */
export function diffConfig(recorded: Record<string, unknown>, given: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(given)])].sort();
  const out: string[] = [];
  for (const key of keys) {
    const a = canonicalJson(recorded[key]);
    const b = canonicalJson(given[key]);
    if (a !== b) out.push(`${key}: ${a ?? 'unset'} → ${b ?? 'unset'}`);
  }
  return out;
}
