import PQueue from 'p-queue';
import { JudgmentStore, RunStore, judgmentContentHash, type JudgmentRecord } from '@deepconf-safety/run-store';
import type { JudgeClient } from './judge-client.js';
import { judgeOnce, type JudgeIdentity, type JudgeTraceInput } from './trace-judge.js';

export interface JudgeRunProgress {
  /** Answered traces of finished prompts (what this judge is asked about). */
  total: number;
  /** Already judged (the cache) when the command started. */
  cached: number;
  /** Judged in this process so far. */
  judged: number;
  /** Of those, without a verdict (endpoint failure or unparsable answer). */
  failed: number;
}

export interface JudgeRunOptions {
  dir: string;
  judge: JudgeIdentity;
  client: JudgeClient;
  /** Judge requests in flight at once. */
  concurrency: number;
  /** Ask again where the endpoint failed last time (`call_failed`); parse failures stand unless `retryUnparsable`. Default true. */
  retryFailedCalls?: boolean;
  retryUnparsable?: boolean;
  signal?: AbortSignal;
  onProgress?(p: JudgeRunProgress): void;
  secrets?: readonly string[];
}

export interface JudgeRunOutcome extends JudgeRunProgress {
  status: 'completed' | 'interrupted';
  /** Failures among all judgments of this judge in the run, by code. */
  failures: Record<string, number>;
}

/** The traces a judge is asked about: answered traces of finished prompts, with the prompt they answer. */
export function judgeInputs(store: RunStore): JudgeTraceInput[] {
  const prompts = new Map(store.readInstances().map((i) => [i.instanceId, i.prompt]));
  const out: JudgeTraceInput[] = [];
  for (const t of store.readTraces()) {
    const prompt = prompts.get(t.instanceId);
    if (prompt === undefined || t.stopReason === 'error' || t.refusal === null) continue;
    out.push({ instanceId: t.instanceId, traceIndex: t.traceIndex, prompt, text: t.text, detector: t.refusal });
  }
  return out;
}

/**
 * Judges a finished run after the fact: every answered trace without a current judgment of this judge, `concurrency`
 * at a time. Each judgment is appended as it arrives, so a killed process loses at most the ones in flight and the
 * next run asks only about the rest.
 */
export async function judgeRun(options: JudgeRunOptions): Promise<JudgeRunOutcome> {
  const store = RunStore.open(options.dir);
  const inputs = judgeInputs(store);
  const judgments = JudgmentStore.open(options.dir, { write: true });
  const retry = (r: JudgmentRecord): boolean =>
    r.error !== null &&
    ((r.error.code === 'call_failed' && options.retryFailedCalls !== false) ||
      (r.error.code !== 'call_failed' && options.retryUnparsable === true));
  const keyOf = (i: JudgeTraceInput) => ({
    instanceId: i.instanceId,
    traceIndex: i.traceIndex,
    style: options.judge.style,
    model: options.judge.model,
  });
  const todo = inputs.filter((i) => {
    const cached = judgments.get(keyOf(i), judgmentContentHash(i.prompt, i.text));
    return cached === null || retry(cached);
  });
  const progress: JudgeRunProgress = {
    total: inputs.length,
    cached: inputs.length - todo.length,
    judged: 0,
    failed: 0,
  };
  const report = () => options.onProgress?.({ ...progress });
  report();
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency) });
  const signal = options.signal;
  try {
    await Promise.all(
      todo.map((input) =>
        queue.add(async () => {
          if (signal?.aborted) return;
          let record: JudgmentRecord;
          try {
            record = await judgeOnce(options.client, options.judge, input, {
              ...(signal ? { signal } : {}),
              ...(options.secrets ? { secrets: options.secrets } : {}),
            });
          } catch (error) {
            if (signal?.aborted) return;
            throw error;
          }
          judgments.append(record);
          progress.judged++;
          if (record.error !== null) progress.failed++;
          report();
        }),
      ),
    );
    const failures: Record<string, number> = {};
    const current = new Set(
      inputs.map((i) => `${i.instanceId}#${i.traceIndex}#${judgmentContentHash(i.prompt, i.text)}`),
    );
    for (const r of judgments.all()) {
      if (r.style !== options.judge.style || r.model !== options.judge.model || r.error === null) continue;
      if (current.has(`${r.instanceId}#${r.traceIndex}#${r.contentHash}`))
        failures[r.error.code] = (failures[r.error.code] ?? 0) + 1;
    }
    return { ...progress, status: signal?.aborted ? 'interrupted' : 'completed', failures };
  } finally {
    judgments.close();
  }
}
