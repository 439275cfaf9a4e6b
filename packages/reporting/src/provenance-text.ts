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

/**
 * How the confident / uncertain split fell (issue 17): a prompt at or above the split is confident, so prompts
 * tied at the split all go to confident. With vote share most votes are unanimous (1.0): the median is then 1.0
 * and "uncertain" means "not unanimous", a small bucket. The sentence gives n per side and the ties.
 */
export function splitSentence(
  instances: ReadonlyArray<{ decision: string | null; confidence: number | null }>,
  split: { percentile: number; confidence: number | null },
): string {
  if (split.confidence === null) return 'No split: no prompt has a decision confidence.';
  const c = split.confidence;
  const decided = instances.filter(
    (i) => i.decision !== null && i.confidence !== null && Number.isFinite(i.confidence),
  );
  const confident = decided.filter((i) => (i.confidence as number) >= c).length;
  const ties = decided.filter((i) => i.confidence === c).length;
  const share = decided.length > 0 ? Math.round((100 * ties) / decided.length) : 0;
  return (
    `Split at the ${split.percentile}th percentile of decision confidence, ${c.toFixed(3)}: ${confident} prompts at or above it are confident, ${decided.length - confident} below it uncertain. ` +
    `Ties at the split count as confident (${ties} prompts, ${share}% of the decided, sit exactly at it)` +
    (share >= 25
      ? '; with this many ties the uncertain bucket holds only the prompts below the tied value, so it is small (for vote share: the prompts whose vote was not unanimous).'
      : '.')
  );
}

/** Why a savings estimate may be biased: under global calibration, prompts outside the slice have no warmups. */
export function savingsCaveat(
  config: Pick<Manifest['config'], 'calibration'>,
  baselineEstimated: boolean,
): string | null {
  if (!baselineEstimated || config.calibration !== 'global') return null;
  return 'Under global calibration the prompts outside the calibration slice ran no warmup traces, so their no-early-stop baseline is estimated from their own completed traces, which passed the confidence filter: that part of the estimate is biased low and the savings understated. A --no-early-stop run of the same seed gives the exact savings.';
}
