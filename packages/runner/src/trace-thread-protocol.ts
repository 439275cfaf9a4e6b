import type { VllmClientErrorData } from '@deepconf-safety/vllm-client';
import type { StopRule, TraceRequest, TraceResult } from './trace-source.js';

/** Messages from ThreadedTraceSource to a trace thread. */
export type ToThread =
  | { type: 'run'; id: number; request: TraceRequest; stopRule: StopRule | null; maxRetries: number | null }
  | { type: 'abort'; id: number };

/**
 * Messages from a trace thread back. A client error travels as its data (code, message, attempts: `toJSON`) and is
 * rebuilt as a VllmClientError; anything else as a message only.
 */
export type FromThread =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: TraceResult }
  | { type: 'error'; id: number; error: VllmClientErrorData | { name: 'Error'; message: string } };
