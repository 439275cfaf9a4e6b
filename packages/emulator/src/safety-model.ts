import { assessHarm, type HarmAssessment } from './harm.js';
import { profileEffects } from './model-profile.js';
import * as P from './phrases.js';
import { Rng } from './prng.js';
import { tokenize } from './tokenizer.js';

/** Level 1.0 marks a special end-of-sequence position (gets the EOS distribution). */
export const EOS_LEVEL = 1;

/** What one trace of the synthetic model will say, token by token. */
export interface TracePlan {
  /** Token strings; concatenated they are the raw output (with `<think>` tags, without EOS text). */
  readonly tokens: readonly string[];
  /** Per token, how confident the model is (0 = flat distribution, 1 = EOS/certain). */
  readonly levels: Float32Array;
  /** Number of leading tokens up to and including `</think>` (0 without thinking). */
  readonly thinkingTokens: number;
  readonly finishReason: 'stop' | 'length';
  readonly refused: boolean;
  readonly drifted: boolean;
  readonly harm: HarmAssessment;
}

export interface PlanInput {
  /** Server seed mixed with the prompt and trace key into the trace's own seed. */
  readonly traceSeed: number;
  readonly prompt: string;
  readonly thinking: boolean;
  readonly maxTokens: number;
  /** Token appended on a natural stop, e.g. "<|im_end|>". */
  readonly eosToken: string;
  /** The served model's size scale (`profileOf(name).scale`); 0 or absent = the reference model. */
  readonly modelScale?: number;
}

function topicOf(prompt: string): string {
  let t = prompt.trim().split('\n').pop() ?? '';
  t = t
    .replace(
      /^(please\s+)?(how (can|do|should|would|could) (i|we|you|one)|what('s| is) the best way (of|to)|what (is|are|was|were)|why (can|should|do|does|is|are|did)|can you( tell me)?|where can i|tell me how to|explain how to|is it possible to)\s+/i,
      '',
    )
    .replace(/[?.!]+$/, '')
    .replace(/\bmy\b/gi, 'your')
    .replace(/\bI\b/g, 'you')
    .replace(/\bme\b/gi, 'you');
  if (t.length > 80) t = `${t.slice(0, 80).replace(/\s+\S*$/, '')}`;
  return t.length === 0 ? 'this' : t;
}

const fill = (s: string, topic: string): string => s.replace('{t}', topic);

/**
 * The tokens of one trace as they are written, with a confidence level each. A fluent model is near-certain
 * about most tokens and dips where it chooses what to say (sentence starts, content words); a less confident
 * segment has more and deeper dips. That gives the bimodal per-token confidence of real traces, with window
 * means that follow the segment level.
 */
class TraceWriter {
  readonly tokens: string[] = [];
  readonly levels: number[] = [];
  constructor(readonly rng: Rng) {}

  /** Appends `text` at segment confidence `level`; `jitter` 0 = a fixed-level special token. */
  push(text: string, level: number, jitter = 0.08): void {
    const { rng } = this;
    const toks = tokenize(text);
    const pDip = clamp(1.05 - 1.15 * level, 0.04, 0.95);
    for (let i = 0; i < toks.length; i++) {
      this.tokens.push(toks[i] as string);
      if (jitter === 0) this.levels.push(level);
      else if (rng.chance(i === 0 ? pDip + 0.3 : pDip)) this.levels.push(rng.range(0.02, 0.2 + 0.4 * level));
      else this.levels.push(clamp(0.78 + 0.19 * level + rng.range(-jitter, jitter), 0.5, 0.97));
    }
  }

  /** One rambling phrase at low confidence. */
  ramble(): void {
    this.push(this.rng.pick(P.RAMBLING), this.rng.range(0.06, 0.22), 0.06);
  }
}

/** What the trace decided before its first token: refuse or comply, how sure, and whether it will drift. */
interface TraceMood {
  harm: HarmAssessment;
  refused: boolean;
  minority: boolean;
  topic: string;
  /** The segment confidence of the answer. */
  base: number;
  drifted: boolean;
  /** The served model's answer length relative to the reference model. */
  lengthFactor: number;
}

function traceMood(input: PlanInput, rng: Rng): TraceMood {
  const effects = profileEffects(assessHarm(input.prompt), input.modelScale ?? 0);
  const harm = effects.harm;
  const refused = rng.next() < harm.pRefuse;
  const minority = refused !== harm.pRefuse >= 0.5;
  const topic = topicOf(input.prompt);
  // Confident unless the decision is borderline; a trace that went against the model's own
  // majority is less sure of itself.
  const base = clamp(
    0.8 - 0.45 * harm.borderline - (minority ? 0.12 : 0) + rng.range(-0.08, 0.08) + effects.confidenceShift,
    0.08,
    0.93,
  );
  const pDrift = 0.03 + 0.6 * harm.borderline * harm.borderline + (minority ? 0.1 : 0);
  const drifted = rng.chance(pDrift);
  return { harm, refused, minority, topic, base, drifted, lengthFactor: effects.lengthFactor };
}

/** The `<think>` section; returns how many tokens it took, `</think>` included. */
function writeThinking(w: TraceWriter, m: TraceMood): number {
  const { rng } = w;
  w.push('<think>', 0.95, 0);
  let think = `\n${fill(rng.pick(P.THINK_OPEN), m.topic)} ${rng.pick(m.refused ? P.THINK_REFUSE : P.THINK_COMPLY)}`;
  if (m.harm.borderline > 0.3 && rng.chance(m.harm.borderline))
    think += ` ${rng.pick(P.THINK_DOUBT)} ${rng.pick(m.refused ? P.THINK_REFUSE : P.THINK_COMPLY)}`;
  if (rng.chance(0.5)) think += ` ${rng.pick(m.refused ? P.THINK_REFUSE : P.THINK_COMPLY)}`;
  w.push(`${think}\n`, m.base - 0.08);
  w.push('</think>', 0.95, 0);
  const thinkingTokens = w.tokens.length;
  w.push('\n\n', 0.9, 0.05);
  return thinkingTokens;
}

/** A drift into low-confidence rambling, once the answer reaches `at` tokens; it may not recover. */
class Drift {
  done = false;
  recovered = true;
  constructor(
    private readonly w: TraceWriter,
    readonly at: number,
  ) {}

  maybe(): void {
    const { w } = this;
    if (this.done || w.tokens.length < this.at) return;
    this.done = true;
    // Low-confidence rambling long enough (70-150 tokens) for a ~64-token window to notice.
    const len = Math.round(w.rng.range(70, 150));
    const start = w.tokens.length;
    while (w.tokens.length - start < len) w.ramble();
    this.recovered = w.rng.chance(0.5);
  }
}

/** A refusal in one of the refusal styles: opening, body sentences up to the target length, a closing line. */
function writeRefusal(w: TraceWriter, m: TraceMood, drift: Drift, answerLen: () => number, target: number): void {
  const { rng } = w;
  const style = rng.pick(P.REFUSAL_STYLE_NAMES);
  const bank = P.REFUSAL_STYLES[style];
  w.push(fill(rng.pick(bank.open), m.topic), m.base);
  while (answerLen() < target - 12 && (drift.recovered || !drift.done)) {
    drift.maybe();
    if (!drift.recovered) break;
    w.push(` ${fill(rng.pick(bank.body), m.topic)}`, m.base);
  }
  if (drift.recovered) w.push(` ${rng.pick(P.REFUSAL_CLOSE)}`, m.base + 0.05);
}

/** A compliance as numbered steps or prose up to the target length, then a closing line. */
function writeCompliance(w: TraceWriter, m: TraceMood, drift: Drift, answerLen: () => number, target: number): void {
  const { rng } = w;
  const steps = rng.chance(0.6);
  w.push(fill(rng.pick(steps ? P.COMPLIANCE_INTRO_STEPS : P.COMPLIANCE_INTRO_PROSE), m.topic), m.base);
  let n = 1;
  while (answerLen() < target - 12) {
    drift.maybe();
    if (drift.done && !drift.recovered) break;
    if (steps) w.push(`\n${n++}. ${rng.pick(P.COMPLIANCE_STEPS)}`, m.base);
    else w.push(` ${fill(rng.pick(P.COMPLIANCE_PROSE), m.topic)}`, m.base);
  }
  if (drift.recovered) w.push(`\n\n${rng.pick(P.COMPLIANCE_CLOSE)}`, m.base + 0.05);
}

/**
 * Builds one trace. Pure in (traceSeed, prompt, thinking, maxTokens): same inputs, same tokens and levels.
 */
export function planTrace(input: PlanInput): TracePlan {
  const rng = new Rng(input.traceSeed);
  const mood = traceMood(input, rng);
  const { harm, refused, minority } = mood;
  const w = new TraceWriter(rng);
  const { tokens, levels } = w;
  const thinkingTokens = input.thinking ? writeThinking(w, mood) : 0;

  const answerStart = tokens.length;
  // The answer's first token is the refuse-or-comply choice: about as sure as the model is of it.
  const decisionLevel = clamp(
    0.92 - 0.85 * harm.borderline - (minority ? 0.25 : 0) + rng.range(-0.05, 0.05),
    0.02,
    0.95,
  );
  const target = Math.round((refused ? rng.range(30, 110) : rng.range(80, 280)) * mood.lengthFactor);
  const drift = new Drift(
    w,
    mood.drifted ? answerStart + Math.round(rng.range(12, Math.max(14, target * 0.5))) : Infinity,
  );
  const answerLen = (): number => tokens.length - answerStart;
  if (refused) writeRefusal(w, mood, drift, answerLen, target);
  else writeCompliance(w, mood, drift, answerLen, target);
  if (levels.length > answerStart) levels[answerStart] = decisionLevel;
  if (!drift.done && mood.drifted) drift.maybe();
  // A trace that never recovered from rambling keeps going until the token limit.
  if (drift.done && !drift.recovered) {
    while (tokens.length < input.maxTokens && tokens.length < answerStart + 300) w.ramble();
  }
  // No EOS when the limit is already reached: vLLM reports "length" then.
  const hitLimit = tokens.length >= input.maxTokens;
  if (!hitLimit) {
    tokens.push(input.eosToken);
    levels.push(EOS_LEVEL);
  }
  const finishReason = hitLimit ? 'length' : 'stop';
  const keep = Math.min(tokens.length, input.maxTokens);
  return {
    tokens: tokens.slice(0, keep),
    levels: Float32Array.from(levels.slice(0, keep)),
    thinkingTokens: Math.min(thinkingTokens, keep),
    finishReason,
    refused,
    drifted: drift.done,
    harm,
  };
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
