// Source-mode entry of the emulator thread (tests, `tsx`): registers tsx in this thread, then loads thread-main.ts.
import { workerData } from 'node:worker_threads';
// biome-ignore lint/correctness/noUndeclaredDependencies: source mode only (tests, tsx); tsx is the root's dev tool, and built code never loads this file
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
