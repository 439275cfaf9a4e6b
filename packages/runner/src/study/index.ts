export {
  StudyConfigSchema,
  parseStudyConfig,
  readStudyConfig,
  expandGrid,
  cellArgv,
  referenceSetting,
  pathSegment,
  type StudyConfig,
  type GridCell,
} from './config.js';
export { discoverEndpoints, endpointsAsked, httpListModels, type ListModels, type ModelListing } from './endpoints.js';
export { StudyConfigError, StudyEndpointError, StudyStateError } from './errors.js';
export {
  runStudy,
  studyEtaSeconds,
  type RunStudyOptions,
  type StudyOutcome,
  type StudyEvent,
  type StudyCounts,
  type CellRequest,
  type CellOutcome,
} from './run-study.js';
