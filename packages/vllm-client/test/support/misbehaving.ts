import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The misbehaving server (misbehaving-server.mjs) in a child process of its own. */
export type MisbehavingServer = {
  /** Base URL of one fault, e.g. url('reset') = http://127.0.0.1:PORT/reset/v1. */
  url(mode: string): string;
  /** Generation requests each mode has received so far. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
};

export async function startMisbehavingServer(): Promise<MisbehavingServer> {
  const script = fileURLToPath(new URL('./misbehaving-server.mjs', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`misbehaving server exited with code ${code} before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve((JSON.parse(line) as { port: number }).port),
    );
  });
  const root = `http://127.0.0.1:${port}`;
  return {
    url: (mode) => `${root}/${mode}/v1`,
    counts: async () => (await (await fetch(`${root}/x/count`)).json()) as Record<string, number>,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}
