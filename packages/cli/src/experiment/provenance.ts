import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { PAPER_SCALE, redactUrl, type Provenance } from '@deepconf-safety/run-store';
import type { ServerProbe } from '@deepconf-safety/vllm-client';

/*
 * The manifest's `provenance` block (issue 17), gathered at the edges through injected I/O so that tests can
 * give it files, a git and a deploy state of their own. The call site passes what the run already knows.
 */

export interface ProvenanceIo {
  /** sha256 (hex) and size of a file's bytes. */
  hashFile(path: string): Promise<{ sha256: string; bytes: number }>;
  /** `git` in the tool's own checkout: the stdout, or null when git or the checkout is not there. */
  git(args: readonly string[]): Promise<string | null>;
  /** Sub-directory names of a directory ([] when it does not exist). */
  listDirs(dir: string): Promise<string[]>;
  /** A file's text, or null when it does not exist. */
  readText(path: string): Promise<string | null>;
}

export interface ProvenanceInput {
  /** The file(s) the benchmark loader read. */
  datasetFiles: readonly string[];
  probe: readonly ServerProbe[];
  warmup: number;
  traces: number;
  /** Where `npm run deploy:lambda` keeps its state, when the run's endpoints came from it (else null). */
  deployStateDir: string | null;
  baseUrls: readonly string[];
  emulated: boolean;
}

async function datasetFiles(files: readonly string[], io: ProvenanceIo): Promise<Provenance['datasetFiles']> {
  return Promise.all(
    files.map(async (path) => {
      try {
        return { path, ...(await io.hashFile(path)) };
      } catch (error) {
        return { path, sha256: null, bytes: null, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

function endpoints(probe: readonly ServerProbe[]): Provenance['endpoints'] {
  return probe
    .filter((p) => p.healthy)
    .map((p) => ({
      baseUrl: redactUrl(p.baseURL),
      root: p.modelRoot ?? null,
      revision: null,
      maxModelLen: p.maxModelLen,
      vllmVersion: p.version,
    }));
}

async function gitState(io: ProvenanceIo): Promise<Provenance['git']> {
  const commit = (await io.git(['rev-parse', 'HEAD']))?.trim() || null;
  if (commit === null) return { commit: null, dirty: null };
  // Tracked files only: an untracked results/ directory does not make the code dirty.
  const status = await io.git(['status', '--porcelain', '--untracked-files=no']);
  return { commit, dirty: status === null ? null : status.trim() !== '' };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const SERVE_KEYS = ['image', 'maxModelLen', 'gpuMemoryUtilization', 'maxLogprobs', 'reasoningParser'] as const;

/** The vLLM arguments a deployment record holds: parallelism always, the serve settings when it recorded them. */
function vllmArgsOf(record: Record<string, unknown>): Provenance['deploy'][number]['vllmArgs'] {
  const args: Provenance['deploy'][number]['vllmArgs'] = {};
  const put = (key: string, v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') args[key] = v;
  };
  put('model', record['model']);
  put('servedModelName', record['servedModelName']);
  put('tensorParallelSize', record['tensorParallelSize']);
  put('dataParallelSize', record['dataParallelSize']);
  const serve = record['serve'];
  if (typeof serve === 'object' && serve !== null)
    for (const key of SERVE_KEYS) put(key, (serve as Record<string, unknown>)[key]);
  return args;
}

/** The deployments under the state dir whose endpoint the run used. */
async function deployments(input: ProvenanceInput, io: ProvenanceIo): Promise<Provenance['deploy']> {
  if (input.deployStateDir === null) return [];
  const used = new Set(input.baseUrls);
  const out: Provenance['deploy'] = [];
  for (const name of (await io.listDirs(input.deployStateDir)).sort()) {
    const text = await io.readText(join(input.deployStateDir, name, 'deployment.json'));
    if (text === null) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (!used.has(String(record['endpoint']))) continue;
    out.push({
      name,
      provider: str(record['provider']),
      instanceType: str(record['instanceType']),
      model: str(record['model']),
      servedModelName: str(record['servedModelName']),
      vllmArgs: vllmArgsOf(record),
    });
  }
  return out;
}

function notesOf(
  p: Pick<Provenance, 'datasetFiles' | 'endpoints' | 'deploy' | 'git' | 'scale'>,
  input: ProvenanceInput,
): string[] {
  const notes: string[] = [];
  if (p.datasetFiles.length === 0) notes.push('The benchmark loader did not say which file it read: no dataset hash.');
  for (const f of p.datasetFiles) if (f.sha256 === null) notes.push(`${f.path} could not be hashed: ${f.error ?? ''}`);
  if (p.endpoints.some((e) => e.vllmVersion === null))
    notes.push('An endpoint has no GET /version: its vLLM version is unknown (null).');
  if (p.endpoints.some((e) => e.root === null))
    notes.push("An endpoint's /v1/models card gives no root: the model path it loaded is unknown (null).");
  notes.push('/v1/models reports no model revision; pin one with the deploy (vLLM --revision) to make it known.');
  if (input.emulated) notes.push('The server is the emulator: root, max_model_len and version are its own.');
  if (input.deployStateDir !== null && p.deploy.length === 0)
    notes.push('No deployment record under the deploy state matches the endpoints used: vLLM arguments unknown.');
  else if (p.deploy.some((d) => d.vllmArgs['maxModelLen'] === undefined))
    notes.push(
      "The deployment record holds the model and parallelism but not the serve settings (image, --max-model-len, --max-logprobs, --gpu-memory-utilization): max_model_len above is the server's own report.",
    );
  if (p.git.commit === null) notes.push('Not run from a git checkout: no commit.');
  return notes;
}

/** The manifest's provenance block. */
export async function gatherProvenance(input: ProvenanceInput, io: ProvenanceIo): Promise<Provenance> {
  const [files, deploy, git] = await Promise.all([
    datasetFiles(input.datasetFiles, io),
    deployments(input, io),
    gitState(io),
  ]);
  const p: Pick<Provenance, 'datasetFiles' | 'endpoints' | 'deploy' | 'git' | 'scale'> = {
    datasetFiles: files,
    endpoints: endpoints(input.probe),
    deploy,
    git,
    scale: { warmup: input.warmup, traces: input.traces, paper: { ...PAPER_SCALE } },
  };
  return { ...p, notes: notesOf(p, input) };
}

/** The real edges: streamed sha256, git in this package's checkout (not the user's working directory). */
export function nodeProvenanceIo(): ProvenanceIo {
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    hashFile: (path) =>
      new Promise((resolve, reject) => {
        const hash = createHash('sha256');
        let bytes = 0;
        createReadStream(path)
          .on('data', (chunk) => {
            bytes += chunk.length;
            hash.update(chunk);
          })
          .on('error', reject)
          .on('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
      }),
    git: async (args) => {
      const r = await execa('git', [...args], { cwd: here, reject: false, timeout: 5_000 });
      return r.exitCode === 0 ? r.stdout : null;
    },
    listDirs: async (dir) => {
      try {
        return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch {
        return [];
      }
    },
    readText: async (path) => {
      try {
        return await readFile(path, 'utf8');
      } catch {
        return null;
      }
    },
  };
}
