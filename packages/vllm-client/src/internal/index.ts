// The hot path's internals, for the package's own tests and benchmarks and the project's bench: not the contract,
// and free to change with any release. Import `@deepconf-safety/vllm-client` for the client itself.
export { TraceDecoder, type TokenSink, type FeedResult } from './decoder.js';
export { SseSplitter } from './sse.js';
export { ThinkingSplitter } from './thinking.js';
export { buildBody } from './request-body.js';
export { parseErrorBody, type ErrorInfo } from '../schemas.js';
