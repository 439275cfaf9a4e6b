export {
  DatasetError,
  DatasetAccessError,
  DatasetFormatError,
  DatasetNotFoundError,
  DatasetDownloadError,
  DatasetOptionError,
  isDatasetError,
} from './errors.js';
export { BenchmarkRecordSchema, type BenchmarkRecord, type SkippedRow, type LoadResult } from './record.js';
export type { LoadOptions, ColumnMap } from './options.js';
export {
  loadBenchmark,
  summarizeSkipped,
  isBenchmarkName,
  BENCHMARKS,
  DEFAULT_BENCHMARK,
  type BenchmarkName,
} from './load.js';
export { sampleInstances, mulberry32, type SampleOptions } from './sample.js';
export { checkAccess, formatAccessReport, type AccessCheck } from './access.js';
export {
  resolveUrl,
  resolveHubToken,
  hubEndpoint,
  tokenFilePath,
  defaultCacheDir,
  hubCachePath,
  downloadHubFile,
  type HubOptions,
  type HubToken,
  type HubFile,
  type Env,
} from './hub.js';
export { downloadToCache, type FetchLike, type DownloadResult, type CacheMeta } from './download.js';
export { DEFAULT_LABELS } from './loaders/generic.js';
export { parseLabelMap } from './label-map.js';
export { decodeText, firstInvalidUtf8 } from './text.js';
export { ADVBENCH_URL } from './loaders/advbench.js';
export { STRONGREJECT_URL } from './loaders/strongreject.js';
