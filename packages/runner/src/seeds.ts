import { createHash } from 'node:crypto';

/**
 * The sampling seed of one trace: a hash of (run seed, instance, trace index), so every trace is
 * reproducible on its own whatever order the queue ran it in, and a resumed run redoes a lost trace exactly.
 * 31 bits, because servers parse the seed as a signed 32-bit int.
 */
export function traceSeed(runSeed: number, instanceId: string, traceIndex: number): number {
  const digest = createHash('sha256').update(`${runSeed}\u0000${instanceId}\u0000${traceIndex}`).digest();
  return digest.readUInt32BE(0) & 0x7fffffff;
}
