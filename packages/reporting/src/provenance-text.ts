import { PAPER_SCALE, type Manifest } from '@deepconf-safety/run-store';

/*
 * The provenance a reviewer asks for (manifest `provenance`, issue 17), worded for the report's run table and
 * its opening paragraph. Runs recorded before the block existed say so instead of showing blanks.
 */

/** "DeepConf scale: 4 warmup of 8 traces per prompt; DeepConf's paper runs 16 of 256, a different regime." */
export function scaleSentence(manifest: Pick<Manifest, 'config'>): string {
  const { warmup, traces } = manifest.config;
  const same = warmup === PAPER_SCALE.warmup && traces === PAPER_SCALE.traces;
  return (
    `DeepConf scale: ${warmup} warmup of ${traces} traces per prompt; DeepConf's paper runs ${PAPER_SCALE.warmup} of ${PAPER_SCALE.traces}` +
    (same
      ? ', the same regime.'
      : ', so these results come from a different regime (thresholds from fewer warmups, fewer votes).')
  );
}

const or = (v: string | number | null | undefined, missing: string): string =>
  v === null || v === undefined ? missing : String(v);

/** [field, value] rows for the report's run table. */
export function provenanceRows(manifest: Manifest): Array<[string, string]> {
  const p = manifest.provenance;
  const scale: [string, string] = [
    'DeepConf scale',
    `${manifest.config.warmup} warmup / ${manifest.config.traces} traces (paper ${PAPER_SCALE.warmup} / ${PAPER_SCALE.traces})`,
  ];
  if (p === undefined) return [scale, ['provenance', 'not recorded (the run predates it)']];
  const rows: Array<[string, string]> = [scale];
  rows.push([
    'dataset file sha256',
    p.datasetFiles.length === 0
      ? 'unknown'
      : p.datasetFiles
          .map(
            (f) =>
              `${f.path}: ${f.sha256 ?? `not hashed (${f.error ?? 'unknown'})`}${f.bytes === null ? '' : ` (${f.bytes} bytes)`}`,
          )
          .join('; '),
  ]);
  rows.push([
    'served model (/v1/models)',
    p.endpoints.length === 0
      ? 'no healthy endpoint recorded'
      : p.endpoints
          .map(
            (e) =>
              `${e.baseUrl}: root ${or(e.root, 'not reported')}, revision ${or(e.revision, 'not reported')}, max_model_len ${or(e.maxModelLen, 'not reported')}`,
          )
          .join('; '),
  ]);
  const versions = [...new Set(p.endpoints.map((e) => e.vllmVersion ?? 'unknown (no GET /version)'))];
  rows.push(['vLLM version (GET /version)', versions.length === 0 ? 'unknown' : versions.join(', ')]);
  rows.push([
    'deploy vLLM arguments',
    p.deploy.length === 0
      ? 'unknown (the server was not started by npm run deploy:lambda)'
      : p.deploy
          .map(
            (d) =>
              `${d.name}: ${Object.entries(d.vllmArgs)
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(', ')}`,
          )
          .join('; '),
  ]);
  rows.push([
    'git working tree',
    p.git.commit === null
      ? 'not a git checkout'
      : p.git.dirty === true
        ? `dirty: uncommitted changes to tracked files on top of ${p.git.commit}`
        : p.git.dirty === false
          ? `clean at ${p.git.commit}`
          : 'unknown',
  ]);
  if (p.notes.length > 0) rows.push(['provenance notes', p.notes.join(' ')]);
  return rows;
}

/**
 * The summary row beside the savings: tokens the server generated after aborts, which the client never counted,
 * and the savings net of them; null for runs that did not record it.
 */
export function serverTokensRow(
  manifest: Manifest,
  tokens: { total: number; baseline: number },
): [string, string, string] | null {
  const s = manifest.serverTokens;
  if (s === undefined) return null;
  const label = 'Server tokens after aborts (not in the client count)';
  if (s.afterAborts === null) return [label, 'unknown', s.unknownReason ?? s.caveat];
  const net = tokens.baseline > 0 ? 100 * (1 - (tokens.total + s.afterAborts) / tokens.baseline) : null;
  return [
    label,
    `server generated ${s.afterAborts.toLocaleString('en-US')} tokens after aborts, not in the client count; savings net of them: ${net === null ? 'n/a' : `${net.toFixed(1)}%`}`,
    s.caveat,
  ];
}
