import { asyncBufferFromUrl } from 'hyparquet';
import type { FetchLike } from './download.js';
import { isDatasetError } from './errors.js';
import { accessFix, hubApi, resolveHubToken, resolveUrl, type HubToken } from './hub.js';
import { loadBenchmark } from './load.js';
import { toxicchatHubPath, TOXICCHAT_REPO } from './loaders/toxicchat.js';
import { WILDGUARDMIX_REPO, WILDGUARDMIX_REQUIRED, wildguardmixFile } from './loaders/wildguardmix.js';
import type { LoadOptions } from './options.js';
import { parquetColumns } from './parquet.js';
import { parseCsv } from './tabular.js';

/** One line of the access report; `fix` is what to do when `ok` is false. */
export type AccessCheck = { check: string; ok: boolean; detail: string; fix: string | null };

type HubTarget = { repo: string; path: string; gated: boolean; labels: readonly string[]; parquet: boolean };

const TOXICCHAT_LABELS = ['conv_id', 'user_input', 'toxicity', 'jailbreaking', 'human_annotation'];

function hubTarget(benchmark: string, options: LoadOptions): HubTarget | null {
  if (benchmark === 'wildguardmix' && options.path === undefined) {
    const { path } = wildguardmixFile(options.config, options.split);
    return { repo: WILDGUARDMIX_REPO, path, gated: true, labels: WILDGUARDMIX_REQUIRED, parquet: true };
  }
  if (benchmark === 'toxicchat' && options.path === undefined) {
    const path = toxicchatHubPath(options.config ?? 'toxicchat0124', options.split ?? 'test');
    return { repo: TOXICCHAT_REPO, path, gated: false, labels: TOXICCHAT_LABELS, parquet: false };
  }
  return null;
}

function message(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Can this machine read `benchmark`? Checks the token (whoami), that the dataset file can be read,
 * and that the columns carrying the refusal labels are there. Never throws for a failed check;
 * each failure carries its fix.
 */
export async function checkAccess(benchmark: string, options: LoadOptions = {}): Promise<AccessCheck[]> {
  const env = options.env ?? process.env;
  const fetch: FetchLike = options.fetch ?? globalThis.fetch;
  let target: HubTarget | null;
  try {
    target = hubTarget(benchmark.toLowerCase(), options);
  } catch (cause) {
    return [
      { check: 'dataset readable', ok: false, detail: message(cause), fix: 'pick a config/split the dataset has' },
    ];
  }
  if (target === null) return checkLocal(benchmark, options);

  const checks: AccessCheck[] = [];
  const token = await resolveHubToken(options);
  checks.push(await checkToken(token, target, options));

  const url = resolveUrl(target.repo, options.revision ?? 'main', target.path, env);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token.token}` } : {};
  let size: number | null = null;
  try {
    const res = await fetch(url, { headers: { ...headers, range: 'bytes=0-0' } });
    await res.body?.cancel();
    if (res.status === 200 || res.status === 206) {
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
      size = total !== undefined ? Number(total) : Number(res.headers.get('content-length') ?? NaN);
      checks.push({
        check: 'dataset readable',
        ok: true,
        detail: `${target.repo}/${target.path} (${Number.isFinite(size) ? `${size} bytes` : 'size unknown'})`,
        fix: null,
      });
    } else if (res.status === 401 || res.status === 403) {
      const { reason, fix } = accessFix(target.repo, res.status, token, env);
      checks.push({ check: 'dataset readable', ok: false, detail: `HTTP ${res.status}: ${reason}`, fix });
    } else {
      checks.push({
        check: 'dataset readable',
        ok: false,
        detail: `HTTP ${res.status} for ${target.repo}/${target.path}`,
        fix:
          res.status === 404
            ? 'check the config, split and revision'
            : 'retry later; check HF_ENDPOINT and your network',
      });
    }
  } catch (cause) {
    checks.push({
      check: 'dataset readable',
      ok: false,
      detail: `network error: ${message(cause)}`,
      fix: 'check your network connection and HF_ENDPOINT',
    });
  }

  if (size === null || !Number.isFinite(size)) {
    checks.push({
      check: 'refusal labels present',
      ok: false,
      detail: 'not checked: the dataset file could not be read',
      fix: 'fix the check above first',
    });
    return checks;
  }
  checks.push(await checkLabels(url, size, headers, target, fetch));
  return checks;
}

async function checkToken(token: HubToken | null, target: HubTarget, options: LoadOptions): Promise<AccessCheck> {
  const env = options.env ?? process.env;
  if (token === null) {
    return target.gated
      ? {
          check: 'token valid',
          ok: false,
          detail: `no Hugging Face token found, and ${target.repo} is gated`,
          fix: accessFix(target.repo, 401, null, env).fix,
        }
      : {
          check: 'token valid',
          ok: true,
          detail: `no token found; ${target.repo} is public, so none is needed`,
          fix: null,
        };
  }
  try {
    const { status, body } = await hubApi('/api/whoami-v2', { ...options, token });
    if (status === 200) {
      const b = body as { name?: unknown; auth?: { accessToken?: { role?: unknown } } } | null;
      const name = typeof b?.name === 'string' ? b.name : 'unknown user';
      const role = b?.auth?.accessToken?.role;
      return {
        check: 'token valid',
        ok: true,
        detail: `logged in as ${name} (token from ${token.origin}${typeof role === 'string' ? `, role ${role}` : ''})`,
        fix: null,
      };
    }
    if (status === 401) {
      return {
        check: 'token valid',
        ok: false,
        detail: `the token from ${token.origin} was rejected by whoami`,
        fix: accessFix(target.repo, 401, token, env).fix,
      };
    }
    return {
      check: 'token valid',
      ok: false,
      detail: `whoami answered HTTP ${status}`,
      fix: 'retry later; check HF_ENDPOINT',
    };
  } catch (cause) {
    return {
      check: 'token valid',
      ok: false,
      detail: message(cause),
      fix: 'check your network connection and HF_ENDPOINT',
    };
  }
}

async function checkLabels(
  url: string,
  size: number,
  headers: Record<string, string>,
  target: HubTarget,
  fetch: FetchLike,
): Promise<AccessCheck> {
  let columns: string[];
  try {
    if (target.parquet) {
      // Only the footer travels: the train file is large.
      const buffer = await asyncBufferFromUrl({
        url,
        byteLength: size,
        requestInit: { headers },
        fetch: fetch as typeof globalThis.fetch,
      });
      columns = await parquetColumns(buffer);
    } else {
      const res = await fetch(url, { headers: { ...headers, range: 'bytes=0-65535' } });
      const head = await res.text();
      const firstLine = head.split(/\r?\n/)[0] ?? '';
      columns = parseCsv(`${firstLine}\n`, url).columns;
    }
  } catch (cause) {
    return {
      check: 'refusal labels present',
      ok: false,
      detail: `could not read the columns: ${message(cause)}`,
      fix: 'retry; if it persists the file format changed upstream — report it',
    };
  }
  const missing = target.labels.filter((c) => !columns.includes(c));
  return missing.length === 0
    ? { check: 'refusal labels present', ok: true, detail: `columns ${target.labels.join(', ')} found`, fix: null }
    : {
        check: 'refusal labels present',
        ok: false,
        detail: `missing ${missing.join(', ')}; found ${columns.join(', ')}`,
        fix: 'pin a revision that has these columns (--revision), or report the upstream change',
      };
}

async function checkLocal(benchmark: string, options: LoadOptions): Promise<AccessCheck[]> {
  const checks: AccessCheck[] = [
    { check: 'token valid', ok: true, detail: 'not needed: not a Hugging Face hub dataset', fix: null },
  ];
  try {
    const { records, skipped, source } = await loadBenchmark(benchmark, { ...options, strict: false });
    checks.push({
      check: 'dataset readable',
      ok: true,
      detail: `${records.length} records from ${source}${skipped.length ? `, ${skipped.length} rows skipped` : ''}`,
      fix: null,
    });
    const refuse = records.filter((r) => r.shouldRefuse === true).length;
    const comply = records.filter((r) => r.shouldRefuse === false).length;
    const ok = refuse + comply > 0;
    checks.push({
      check: 'refusal labels present',
      ok,
      detail: `${refuse} should-refuse, ${comply} should-comply, ${records.length - refuse - comply} unlabelled`,
      fix: ok ? null : 'map the label column (columnMap.label / --label-column)',
    });
  } catch (cause) {
    const fix =
      isDatasetError(cause) && 'fix' in cause && typeof cause.fix === 'string'
        ? cause.fix
        : 'see the message; check the name or path';
    checks.push({ check: 'dataset readable', ok: false, detail: message(cause), fix });
    checks.push({
      check: 'refusal labels present',
      ok: false,
      detail: 'not checked: the dataset could not be read',
      fix: 'fix the check above first',
    });
  }
  return checks;
}

/** Human-readable report: one PASS/FAIL line per check, the fix indented under each failure. */
export function formatAccessReport(benchmark: string, checks: readonly AccessCheck[]): string {
  const lines = [`access check for ${benchmark}:`];
  for (const c of checks) {
    lines.push(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.check}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`        fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? 'all checks passed' : `${failed} check(s) failed`);
  return lines.join('\n');
}
