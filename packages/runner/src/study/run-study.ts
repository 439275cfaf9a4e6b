import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, ResultsSchema, type StudyCell, type StudyFile } from '@deepconf-safety/run-store';
import { cellArgv, expandGrid, type StudyConfig } from './config.js';
import { discoverEndpoints, endpointsAsked, type ListModels } from './endpoints.js';
import { newStudy, readStudyFile, resumeStudy, sha256File, writeStudyFile } from './state.js';
import { StudyStateError } from './errors.js';

/** What a cell runner is asked to do: an ordinary experiment run in `dir` against one endpoint. */
export interface CellRequest {
  readonly cell: Readonly<StudyCell>;
  /** The run directory (study dir / cell id). */
  readonly dir: string;
  readonly endpoint: string;
  /** The experiment flags of the cell (options, setting, model, benchmark, seed): no output, endpoint or resume. */
  readonly argv: readonly string[];
  /** The directory holds a started run: continue it (unfinished prompts only). */
  readonly resume: boolean;
  readonly signal: AbortSignal;
}

export interface CellOutcome {
  status: 'completed' | 'interrupted' | 'failed';
  error?: string;
}

export interface StudyCounts {
  done: number;
  running: number;
  left: number;
  failed: number;
  /**
   * Seconds until the study ends at this session's pace: the mean wall time of the cells finished here, for the
   * cells left and the rest of those running, spread over the slots that run at once (null before a cell finished).
   */
  etaSeconds: number | null;
}

export type StudyEvent =
  | { type: 'cell-start'; cell: Readonly<StudyCell>; counts: StudyCounts }
  | { type: 'cell-end'; cell: Readonly<StudyCell>; outcome: CellOutcome; counts: StudyCounts }
  | { type: 'budget-stop'; projectedUsd: number; maxCostUsd: number; counts: StudyCounts };

export interface RunStudyOptions {
  config: StudyConfig;
  /** The study file's path (for messages). */
  configFile: string;
  /** The study directory. */
  output: string;
  resume: boolean;
  /** Endpoints asked for models the study file gives none for (flags, a deployment, or an emulator). */
  endpoints: readonly string[];
  listModels: ListModels;
  /** Hourly price of an endpoint (a Lambda deployment's), or null. */
  priceOf(url: string): number | null;
  maxCostUsd: number | null;
  runCell(request: CellRequest): Promise<CellOutcome>;
  signal?: AbortSignal;
  onEvent?(event: StudyEvent): void;
  /** Called once the endpoints are known, before any cell starts. */
  onPlan?(study: StudyFile): void;
  now?: () => number;
}

export interface StudyOutcome {
  status: StudyFile['status'];
  study: StudyFile;
}

/** Builds or takes up study.json, after the endpoints said which models they serve (nothing runs before). */
async function prepareStudy(o: RunStudyOptions): Promise<StudyFile> {
  const grid = expandGrid(o.config, o.configFile);
  const asked = endpointsAsked(o.config, o.endpoints);
  const { endpoints } = await discoverEndpoints(asked, o.listModels, o.priceOf);
  const name = o.config.name ?? 'study';
  const fresh = newStudy(name, o.config, grid, endpoints, o.maxCostUsd);
  const recorded = readStudyFile(o.output);
  if (recorded !== null && !o.resume) {
    throw new StudyStateError(
      `${o.output} already holds a study; add --resume to continue it, or choose another --output`,
    );
  }
  const study = recorded === null ? fresh : resumeStudy(o.output, recorded, fresh);
  mkdirSync(o.output, { recursive: true });
  writeStudyFile(o.output, study);
  return study;
}

function readCellResults(dir: string): { sha: string; tokens: number; emulated: boolean } {
  const file = join(dir, FILES.results);
  const results = ResultsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  return { sha: sha256File(file) as string, tokens: results.overall.total_tokens, emulated: results.emulated };
}

/**
 * Seconds until a study ends: the mean wall time of the cells finished so far stands for each cell left and for
 * the rest of each one running, and that work is shared by the slots that run cells at once. Null before a cell
 * finished: there is no pace to go by yet.
 */
export function studyEtaSeconds(x: {
  finishedWalls: readonly number[];
  /** Seconds each running cell has run. */
  runningFor: readonly number[];
  left: number;
  /** Cells that run at once (endpoints x cells per endpoint). */
  slots: number;
}): number | null {
  const n = x.finishedWalls.length;
  if (n === 0) return null;
  const mean = x.finishedWalls.reduce((a, b) => a + b, 0) / n;
  const work = x.left * mean + x.runningFor.reduce((s, t) => s + Math.max(0, mean - t), 0);
  const parallel = Math.max(1, Math.min(x.slots, x.left + x.runningFor.length));
  return work / parallel;
}

/** Runs cells on endpoints serving their model, `slots` at a time per endpoint, within the budget. */
class Scheduler {
  private readonly free = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  /** Wall seconds of each cell finished in this session. */
  private readonly finishedWalls: number[] = [];
  /** When each running cell started (ms on `now`). */
  private readonly runningSince = new Map<string, number>();
  private budgetStopped = false;

  constructor(
    private readonly o: RunStudyOptions,
    private readonly study: StudyFile,
    private readonly slots: number,
    private readonly now: () => number,
  ) {
    for (const e of study.endpoints) this.free.set(e.url, slots);
  }

  counts(): StudyCounts {
    const c = this.study.cells;
    const done = c.filter((x) => x.state === 'done').length;
    const running = c.filter((x) => x.state === 'running').length;
    const failed = c.filter((x) => x.state === 'failed').length;
    const left = c.length - done - running - failed;
    return { done, running, left, failed, etaSeconds: this.eta(left) };
  }

  private eta(left: number): number | null {
    const now = this.now();
    return studyEtaSeconds({
      finishedWalls: this.finishedWalls,
      runningFor: [...this.runningSince.values()].map((since) => (now - since) / 1000),
      left,
      slots: this.free.size * this.slots,
    });
  }

  /** Mean cost of the finished cells (null before one finished with a price). */
  private costEstimate(): number | null {
    const costs = this.study.cells.flatMap((c) => (c.state === 'done' && c.costUsd !== null ? [c.costUsd] : []));
    return costs.length === 0 ? null : costs.reduce((a, b) => a + b, 0) / costs.length;
  }

  /** True when launching one more cell keeps the projected cost within --max-cost-usd. */
  private withinBudget(url: string): boolean {
    const max = this.o.maxCostUsd;
    if (max === null || this.study.endpoints.find((e) => e.url === url)?.hourlyPriceUsd == null) return true;
    const estimate = this.costEstimate();
    // Until a cell has been measured, run one at a time so the first measurement comes early.
    if (estimate === null) return this.running.size === 0;
    const spent = this.study.cells.reduce((s, c) => s + (c.costUsd ?? 0), 0);
    const projected = spent + estimate * (this.running.size + 1);
    if (projected <= max) return true;
    if (!this.budgetStopped)
      this.o.onEvent?.({ type: 'budget-stop', projectedUsd: projected, maxCostUsd: max, counts: this.counts() });
    this.budgetStopped = true;
    return false;
  }

  private nextCell(url: string): StudyCell | null {
    const serves = this.study.endpoints.find((e) => e.url === url)?.models ?? [];
    const asked = endpointsAsked(this.o.config, this.o.endpoints);
    return (
      this.study.cells.find(
        (c) => c.state === 'pending' && serves.includes(c.model) && (asked.get(c.model) ?? []).includes(url),
      ) ?? null
    );
  }

  /** Fills every free slot; returns false when nothing runs and nothing more can start. */
  launch(signal: AbortSignal): boolean {
    for (const [url, n] of this.free) {
      for (let i = 0; i < n && !signal.aborted && !this.budgetStopped; i++) {
        const cell = this.nextCell(url);
        if (cell === null || !this.withinBudget(url)) break;
        this.free.set(url, (this.free.get(url) ?? 1) - 1);
        const p = this.runOne(cell, url, signal).finally(() => {
          this.running.delete(p);
          this.free.set(url, (this.free.get(url) ?? 0) + 1);
        });
        this.running.add(p);
      }
    }
    return this.running.size > 0;
  }

  async waitAny(): Promise<void> {
    if (this.running.size > 0) await Promise.race(this.running);
  }

  get stoppedByBudget(): boolean {
    return this.budgetStopped;
  }

  private async runOne(cell: StudyCell, url: string, signal: AbortSignal): Promise<void> {
    const dir = join(this.o.output, cell.id);
    const resume = existsSync(join(dir, FILES.manifest));
    mkdirSync(dir, { recursive: true });
    Object.assign(cell, {
      state: 'running',
      endpoint: url,
      startedAt: cell.startedAt ?? new Date().toISOString(),
      error: null,
    });
    writeStudyFile(this.o.output, this.study);
    const t0 = this.now();
    this.runningSince.set(cell.id, t0);
    this.o.onEvent?.({ type: 'cell-start', cell, counts: this.counts() });
    let outcome: CellOutcome;
    try {
      outcome = await this.o.runCell({ cell, dir, endpoint: url, argv: cellArgv(this.o.config, cell), resume, signal });
    } catch (e) {
      outcome = { status: 'failed', error: e instanceof Error ? e.message : String(e) };
    }
    this.runningSince.delete(cell.id);
    this.record(cell, url, outcome, (this.now() - t0) / 1000, dir);
    this.o.onEvent?.({ type: 'cell-end', cell, outcome, counts: this.counts() });
  }

  private record(cell: StudyCell, url: string, outcome: CellOutcome, seconds: number, dir: string): void {
    const endpoint = this.study.endpoints.find((e) => e.url === url);
    cell.wallSeconds += seconds;
    // The cell held 1/slots of the endpoint (one GPU per endpoint unless told otherwise).
    cell.gpuSeconds += seconds / this.slots;
    const price = endpoint?.hourlyPriceUsd ?? null;
    cell.costUsd = price === null ? null : (cell.gpuSeconds * price) / 3600;
    if (outcome.status === 'completed') {
      const r = readCellResults(dir);
      Object.assign(cell, {
        state: 'done',
        finishedAt: new Date().toISOString(),
        tokens: r.tokens,
        resultsSha256: r.sha,
        emulated: r.emulated,
      });
      this.finishedWalls.push(seconds);
    } else if (outcome.status === 'interrupted') cell.state = 'pending';
    else Object.assign(cell, { state: 'failed', error: outcome.error ?? 'failed' });
    writeStudyFile(this.o.output, this.study);
  }
}

function finalStatus(study: StudyFile, aborted: boolean, budgetStopped: boolean): StudyFile['status'] {
  if (study.cells.every((c) => c.state === 'done')) return 'completed';
  if (aborted) return 'interrupted';
  if (study.cells.some((c) => c.state === 'failed')) return 'failed';
  return budgetStopped ? 'budget_stopped' : 'interrupted';
}

/**
 * Runs a study: every cell an ordinary run directory under `output`, scheduled on the endpoints that serve its
 * model; study.json records each cell's state, wall time, tokens, GPU-seconds and cost after every change, so a
 * kill at any point loses at most the prompts in flight, and `resume` continues only what is unfinished.
 */
export async function runStudy(o: RunStudyOptions): Promise<StudyOutcome> {
  const study = await prepareStudy(o);
  o.onPlan?.(study);
  const signal = o.signal ?? new AbortController().signal;
  const scheduler = new Scheduler(o, study, o.config.cellsPerEndpoint ?? 1, o.now ?? (() => performance.now()));
  while (scheduler.launch(signal)) await scheduler.waitAny();
  study.status = finalStatus(study, signal.aborted, scheduler.stoppedByBudget);
  writeStudyFile(o.output, study);
  return { status: study.status, study };
}
