export { VllmClient, type VllmClientOptions, type RunHooks } from './client.js';
export { VllmClientError, isVllmClientError, type VllmErrorCode, type VllmClientErrorData } from './errors.js';
export { sortedTopK } from './internal/decoder.js';
export type {
  EndpointKind,
  TraceRequest,
  TokenInfo,
  TokenEvent,
  TraceResult,
  ServerProbe,
  StopReason,
  StopRule,
  TopLogprob,
  TopKMode,
  Usage,
} from './types.js';
export { joinUrl, serverRoot, sdkBase, displayUrl } from './url.js';
