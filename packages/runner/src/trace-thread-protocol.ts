import type { StopRule, TraceRequest, TraceResult } from './trace-source.js';

/** Messages from ThreadedTraceSource to a trace thread. */
export type ToThread = { type: 'run'; id: number; request: TraceRequest; stopRule: StopRule } | { type: 'abort'; id: number };

/** Messages from a trace thread back. Errors travel as name and message (the runner reads only those). */
export type FromThread =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: TraceResult }
  | { type: 'error'; id: number; error: { name: string; message: string } };
