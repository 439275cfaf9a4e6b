import { fileURLToPath } from 'node:url';

/** The repository root (bench/ sits directly under it). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Node flags that run a TypeScript entry point of this repo from source, as the root npm scripts do via tsx. */
export function tsxNodeArgs(): string[] {
  return ['--import', 'tsx', '--conditions=@deepconf-safety/source', '--no-warnings=ExperimentalWarning'];
}
