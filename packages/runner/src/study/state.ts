import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FILES,
  STUDY_FILE,
  STUDY_SCHEMA_VERSION,
  StudyFileSchema,
  configHash,
  diffConfig,
  redactUrl,
  writeJsonAtomic,
  type StudyCell,
  type StudyEndpoint,
  type StudyFile,
} from '@deepconf-safety/run-store';
import { referenceSetting, type GridCell, type StudyConfig } from './config.js';
import { StudyStateError } from './errors.js';

/** What decides the study's cells and results: the study file less where it is written and how it is described. */
export function studyIdentity(c: StudyConfig): Record<string, unknown> {
  const { output: _output, description: _description, cellsPerEndpoint: _slots, endpoints: _endpoints, ...rest } = c;
  return rest;
}

export function sha256File(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}

function freshCell(g: GridCell): StudyCell {
  return {
    ...g,
    state: 'pending',
    endpoint: null,
    startedAt: null,
    finishedAt: null,
    wallSeconds: 0,
    tokens: null,
    gpuSeconds: 0,
    costUsd: null,
    resultsSha256: null,
    emulated: null,
    error: null,
  };
}

export function newStudy(
  name: string,
  config: StudyConfig,
  grid: readonly GridCell[],
  endpoints: StudyEndpoint[],
  maxCostUsd: number | null,
): StudyFile {
  const now = new Date().toISOString();
  return {
    schemaVersion: STUDY_SCHEMA_VERSION,
    name,
    status: 'running',
    createdAt: now,
    updatedAt: now,
    config: config as unknown as Record<string, unknown>,
    configHash: configHash(studyIdentity(config)),
    grid: {
      models: config.models,
      benchmarks: config.benchmarks,
      settings: config.settings,
      seeds: config.seeds,
      reference: referenceSetting(config),
    },
    endpoints,
    budget: { maxCostUsd, spentUsd: 0 },
    cells: grid.map(freshCell),
  };
}

export function readStudyFile(dir: string): StudyFile | null {
  const file = join(dir, STUDY_FILE);
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StudyStateError(
      `${file} is not valid JSON (${(e as Error).message}); restore it or start the study in a new --output`,
    );
  }
  const parsed = StudyFileSchema.safeParse(json);
  if (!parsed.success)
    throw new StudyStateError(`${file} is not a study file (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

export function writeStudyFile(dir: string, study: StudyFile): void {
  study.updatedAt = new Date().toISOString();
  study.budget.spentUsd = study.cells.reduce((s, c) => s + (c.costUsd ?? 0), 0);
  writeJsonAtomic(join(dir, STUDY_FILE), withUrlsRedacted(study));
}

/**
 * The study as it may be written: every URL (the endpoints, a base URL in the config or a setting) with its
 * userinfo and query values redacted, as a gateway key can sit there. Nothing reads a URL back from study.json:
 * a resumed study asks its endpoints again and its cells get their flags from the study file the user passes.
 */
export function withUrlsRedacted(study: StudyFile): StudyFile {
  return JSON.parse(
    JSON.stringify(study, (_key, value: unknown) =>
      typeof value === 'string' && /^https?:\/\//i.test(value) ? redactUrl(value) : value,
    ),
  ) as StudyFile;
}

/**
 * Takes a recorded study up again: the same grid is required; finished cells are kept only while their
 * results.json still has the recorded hash; cells left running by a killed process become pending.
 */
export function resumeStudy(dir: string, recorded: StudyFile, fresh: StudyFile): StudyFile {
  if (recorded.configHash !== fresh.configHash) {
    const diff = diffConfig(recorded.config, fresh.config).join('; ');
    throw new StudyStateError(
      `${join(dir, STUDY_FILE)} records another study (${diff || 'config differs'}); pass the same study file, or a new --output`,
    );
  }
  for (const cell of recorded.cells) {
    if (cell.state === 'done') {
      const sha = sha256File(join(dir, cell.id, FILES.results));
      if (sha === null) Object.assign(cell, { state: 'pending', resultsSha256: null });
      else if (sha !== cell.resultsSha256) {
        throw new StudyStateError(
          `cell ${cell.id}: results.json changed since the cell finished (sha256 ${sha.slice(0, 12)}, recorded ${String(cell.resultsSha256).slice(0, 12)}); restore it, or delete the cell's directory to run it again`,
        );
      }
    } else if (cell.state === 'running' || cell.state === 'failed') cell.state = 'pending';
  }
  return {
    ...recorded,
    status: 'running',
    endpoints: fresh.endpoints,
    budget: { ...recorded.budget, maxCostUsd: fresh.budget.maxCostUsd },
  };
}
