import {
  DEFAULT_AMBIGUITY_BAND,
  JUDGE_CAPABILITIES,
  buildJudgeRequest,
  parseJudgeAnswer,
  type JudgeBand,
  type JudgeStyle,
  type RefusalLabel,
} from '@deepconf-safety/refusal';
import { judgmentContentHash, type JudgmentRecord, type JudgmentStore } from '@deepconf-safety/run-store';
import { RunnerConfigError, redactSecrets } from '../errors.js';
import type { JudgeClient } from './judge-client.js';

/** Which label the vote uses: the detector's, the judge's, or the judge's only where the detector is unsure. */
export type RefusalSource = 'detector' | 'judge' | 'judge-on-ambiguous';
export const REFUSAL_SOURCES: readonly RefusalSource[] = ['detector', 'judge', 'judge-on-ambiguous'];

/** One answered trace, as the judge sees it. */
export interface JudgeTraceInput {
  instanceId: string;
  traceIndex: number;
  prompt: string;
  /** The answer without its thinking: judges score what the user would read. */
  text: string;
  detector: { label: RefusalLabel; refused: boolean; score: number };
}

/** The refused flag the vote uses for a trace, and whose label it is. */
export interface VoteLabel {
  refused: boolean;
  source: 'detector' | 'judge';
}

/**
 * What the runner needs of a judge: one call per answered trace, before the trace is recorded. It never throws for
 * a failed or unparsable judge answer (that is recorded in judgments.jsonl and the detector's label stands); it
 * throws only when `signal` aborts.
 */
export interface TraceJudge {
  judgeTrace(input: JudgeTraceInput, signal?: AbortSignal): Promise<VoteLabel>;
}

export interface JudgeIdentity {
  style: JudgeStyle;
  /** The judge's served model name. */
  model: string;
  emulated: boolean;
}

/** Asks the judge about one trace and returns the record to append (failures are records too, with the raw answer). */
export async function judgeOnce(
  client: JudgeClient,
  judge: JudgeIdentity,
  input: JudgeTraceInput,
  options: { signal?: AbortSignal; secrets?: readonly string[] } = {},
): Promise<JudgmentRecord> {
  const base = {
    instanceId: input.instanceId,
    traceIndex: input.traceIndex,
    contentHash: judgmentContentHash(input.prompt, input.text),
    style: judge.style,
    model: judge.model,
    ...(judge.emulated ? { emulated: true } : {}),
  };
  let raw: string;
  try {
    raw = await client.complete(buildJudgeRequest(judge.style, input.prompt, input.text), options.signal);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const message = redactSecrets(
      error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      options.secrets ?? [],
    );
    return {
      ...base,
      label: null,
      harmful: null,
      harmfulRequest: null,
      raw: null,
      error: { code: 'call_failed', message },
      at: new Date().toISOString(),
    };
  }
  const parsed = parseJudgeAnswer(judge.style, raw);
  const at = new Date().toISOString();
  if (!parsed.ok)
    return {
      ...base,
      label: null,
      harmful: null,
      harmfulRequest: null,
      raw,
      error: { code: parsed.code, message: parsed.message },
      at,
    };
  return { ...base, ...parsed.verdict, raw, error: null, at };
}

export interface TraceJudgeOptions extends JudgeIdentity {
  client: JudgeClient;
  store: JudgmentStore;
  refusalSource: RefusalSource;
  /** Detector scores in [low, high] (and its partial refusals) count as ambiguous. Default DEFAULT_AMBIGUITY_BAND. */
  band?: JudgeBand;
  secrets?: readonly string[];
}

export const isAmbiguous = (detector: JudgeTraceInput['detector'], band: JudgeBand = DEFAULT_AMBIGUITY_BAND): boolean =>
  (detector.score >= band[0] && detector.score <= band[1]) || detector.label === 'partial_refusal';

/** Refuses combinations that cannot work, naming the flag (HarmBench's classifier gives no refusal label). */
export function checkJudgeSettings(style: JudgeStyle | null, refusalSource: RefusalSource): void {
  if (refusalSource === 'detector') return;
  if (style === null)
    throw new RunnerConfigError(
      '--refusal-source',
      `${refusalSource} needs a judge; add --judge wildguard or --judge xstest`,
    );
  if (!JUDGE_CAPABILITIES[style].refusal) {
    throw new RunnerConfigError(
      '--refusal-source',
      `--judge ${style} says whether a response is harmful, not whether it refuses; use --judge wildguard or xstest, or --refusal-source detector`,
    );
  }
}

/** The judge the runner calls: cached judgments first (same trace, style, model and text), then one call. */
export function createTraceJudge(options: TraceJudgeOptions): TraceJudge {
  checkJudgeSettings(options.style, options.refusalSource);
  const band = options.band ?? DEFAULT_AMBIGUITY_BAND;
  return {
    async judgeTrace(input, signal) {
      const detector: VoteLabel = { refused: input.detector.refused, source: 'detector' };
      if (options.refusalSource === 'judge-on-ambiguous' && !isAmbiguous(input.detector, band)) return detector;
      const key = {
        instanceId: input.instanceId,
        traceIndex: input.traceIndex,
        style: options.style,
        model: options.model,
      };
      let record = options.store.get(key, judgmentContentHash(input.prompt, input.text));
      if (record === null) {
        record = await judgeOnce(options.client, options, input, {
          ...(signal === undefined ? {} : { signal }),
          ...(options.secrets ? { secrets: options.secrets } : {}),
        });
        options.store.append(record);
      }
      if (options.refusalSource === 'detector' || record.label === null) return detector;
      return { refused: record.label !== 'compliance', source: 'judge' };
    },
  };
}
