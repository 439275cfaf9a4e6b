export { VllmClient, type VllmClientOptions, type RunHooks } from './client.js';
export {
  VllmClientError,
  ConnectionError,
  AuthenticationError,
  ModelNotFoundError,
  BadRequestError,
  ServerError,
  StreamInterruptedError,
  TimeoutError,
  ProtocolError,
  isVllmClientError,
} from './errors.js';
export { TraceDecoder, sortedTopK, type EndpointKind, type TokenSink, type FeedResult } from './decoder.js';
export { SseSplitter } from './sse.js';
export { ThinkingSplitter } from './thinking.js';
export { buildBody } from './request-body.js';
export { parseErrorBody, type ErrorInfo } from './schemas.js';
export type { TraceRequest, TokenInfo, TokenEvent, TraceResult, ServerProbe, TopLogprob, TopKMode, FinishReason, Usage } from './types.js';
