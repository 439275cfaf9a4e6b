import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FILES,
  RunStore,
  STUDY_FILE,
  StudyFileSchema,
  isRunStoreError,
  type InstanceRecord,
  type Results,
  type StudyCell,
  type StudyFile,
} from '@deepconf-safety/run-store';
import { RunInputError } from './errors.js';

/** One cell as the study report sees it: its study.json entry and, once it finished, its run store's records. */
export interface StudyCellData {
  cell: StudyCell;
  dir: string;
  /** Prompt records (empty while the cell has not started). */
  instances: InstanceRecord[];
  results: Results | null;
  emulated: boolean;
}

export interface StudyData {
  dir: string;
  study: StudyFile;
  cells: StudyCellData[];
}

function readCell(dir: string, cell: StudyCell): StudyCellData {
  const cellDir = join(dir, cell.id);
  if (!existsSync(join(cellDir, FILES.manifest)))
    return { cell, dir: cellDir, instances: [], results: null, emulated: cell.emulated === true };
  try {
    const store = RunStore.open(cellDir);
    const manifest = store.readManifest();
    const results = store.hasResults() ? store.readResults() : null;
    const emulated = manifest.emulated || manifest.server.emulated || results?.emulated === true;
    return { cell, dir: cellDir, instances: store.readInstances(), results, emulated };
  } catch (error) {
    if (isRunStoreError(error)) throw new RunInputError(cellDir, error.message, { cause: error });
    throw error;
  }
}

/** Reads study.json and every cell's run store (prompt records and results, never the traces). */
export function readStudy(dir: string): StudyData {
  const file = join(dir, STUDY_FILE);
  if (!existsSync(file))
    throw new RunInputError(dir, `${STUDY_FILE} is missing; pass the directory npm run study wrote`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RunInputError(dir, `${STUDY_FILE} is not valid JSON (${(e as Error).message})`);
  }
  const parsed = StudyFileSchema.safeParse(json);
  if (!parsed.success)
    throw new RunInputError(
      dir,
      `${STUDY_FILE}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    );
  const study = parsed.data;
  return { dir, study, cells: study.cells.map((c) => readCell(dir, c)) };
}
