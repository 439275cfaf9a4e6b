// Source-mode entry of a trace thread (tests, `tsx`): registers tsx in this thread, then loads trace-thread.ts.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
