import type { HarmAssessment } from './harm.js';
import { hashString } from './prng.js';

// Several served models must behave differently, or a study on the emulator compares a model with itself.
// Behaviour follows the name's parameter count against the default model (Qwen3-1.7B): a bigger model
// refuses more decisively, is more confident and writes longer. Names without a size get a small offset
// from their hash, so `a,b,c` differ too. The reference size is neutral on purpose: the default model's
// traces are those the emulator has always produced.

/** Parameter count (in billions) of the reference model; its profile changes nothing. */
const REFERENCE_BILLIONS = 1.7;

export interface ModelProfile {
  readonly name: string;
  /** Parameter count parsed from the name (e.g. 0.6 for "Qwen/Qwen3-0.6B"), null when the name has none. */
  readonly billions: number | null;
  /** log2(size / 1.7B), clamped to ±3; 0 = reference behaviour. */
  readonly scale: number;
}

const SIZE = /(?:^|[^A-Za-z0-9.])(\d+(?:\.\d+)?)\s*([BbMm])(?![A-Za-z])/g;

/** The last size-like token of a model name, in billions ("Llama-3.1-8B-Instruct" → 8, "SmolLM-360M" → 0.36). */
export function parseModelSize(name: string): number | null {
  let found: number | null = null;
  for (const m of name.matchAll(SIZE)) {
    const value = Number(m[1]);
    const unit = (m[2] as string).toLowerCase();
    if (Number.isFinite(value) && value > 0) found = unit === 'm' ? value / 1000 : value;
  }
  return found;
}

export function profileOf(name: string): ModelProfile {
  const billions = parseModelSize(name);
  let scale: number;
  if (billions !== null) scale = Math.max(-3, Math.min(3, Math.log2(billions / REFERENCE_BILLIONS)));
  else scale = (hashString(name, 0x51e) % 2001) / 1000 - 1;
  return { name, billions, scale };
}

/** How a profile bends a trace's plan; every factor is exactly neutral at scale 0. */
export interface ProfileEffects {
  readonly harm: HarmAssessment;
  /** Added to a trace's base confidence level. */
  readonly confidenceShift: number;
  /** Multiplies response lengths. */
  readonly lengthFactor: number;
}

export function profileEffects(harm: HarmAssessment, scale: number): ProfileEffects {
  if (scale === 0) return { harm, confidenceShift: 0, lengthFactor: 1 };
  // A sharper refusal curve: the same prompt score, a more decisive probability.
  const pRefuse = 1 / (1 + Math.exp(-1.5 * 2 ** (0.6 * scale) * (harm.score - 1.8)));
  const borderline = 1 - Math.abs(2 * pRefuse - 1);
  return { harm: { ...harm, pRefuse, borderline }, confidenceShift: 0.04 * scale, lengthFactor: 2 ** (0.35 * scale) };
}
