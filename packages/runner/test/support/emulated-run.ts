// Recording real runs against the in-process emulator, for tests that replay them (runner and reporting tests).
import { expect } from '@jest/globals';
import { loadBenchmark, sampleInstances } from '@deepconf-safety/datasets';
import { RunStore, type RunConfig } from '@deepconf-safety/run-store';
import { runExperiment, type InstanceInput, type RunSettings } from '@deepconf-safety/runner';
import { VllmClient } from '@deepconf-safety/vllm-client';

/** n XSTest prompts, stratified by label for this seed, as the runner takes them. */
export async function xstestInstances(n: number, seed: number): Promise<InstanceInput[]> {
  const { records } = await loadBenchmark('xstest');
  return sampleInstances(records, { n, seed }).map((r) => ({
    id: r.id,
    prompt: r.prompt,
    shouldRefuse: r.shouldRefuse,
    category: r.category,
    source: r.source,
  }));
}

/**
 * Runs the experiment over real HTTP against the emulator at `baseURL` into a new run store in `dir`, with
 * `config` in the manifest (the fields a replay reads), and expects it to complete. The store is closed after.
 */
export async function recordEmulatedRun(run: {
  dir: string;
  runId: string;
  config: RunConfig;
  settings: RunSettings;
  baseURL: string;
  instances: readonly InstanceInput[];
}): Promise<RunStore> {
  const { store } = RunStore.create(
    run.dir,
    {
      runId: run.runId,
      startedAt: new Date(0).toISOString(),
      config: run.config,
      versions: {},
      gitCommit: null,
      server: { emulated: true, baseUrls: [run.baseURL] },
      emulated: true,
    },
    { resume: false },
  );
  const client = new VllmClient({ baseURLs: [run.baseURL], model: 'Qwen/Qwen3-1.7B', env: {} });
  const outcome = await runExperiment({
    instances: run.instances,
    settings: run.settings,
    source: client,
    store,
    emulated: true,
    concurrency: 48,
  });
  store.close();
  expect(outcome.status).toBe('completed');
  return store;
}
