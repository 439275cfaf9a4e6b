#!/usr/bin/env node
// Detached helper started by deploy: keeps one deployment's SSH tunnel alive.
import { runTunnelKeeper } from '../tunnel-keeper.js';

const arg = (flag: string): string => {
  const i = process.argv.indexOf(flag);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (!value) {
    console.error(`tunnel-keeper: missing ${flag}`);
    process.exit(2);
  }
  return value;
};

runTunnelKeeper(arg('--state-dir'), arg('--name')).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`tunnel-keeper: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
