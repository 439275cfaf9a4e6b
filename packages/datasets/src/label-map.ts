import { DatasetOptionError } from './errors.js';

const TARGETS: Readonly<Record<string, boolean | null>> = { refuse: true, comply: false, unlabelled: null };

/**
 * Parses the CLI's `--label-map refuse=1,comply=0` into a loader `labelMap`: each `target=value` says which
 * cell value means "should refuse", "should comply" or "no label"; `|` lists several values
 * (`refuse=unsafe|harmful,comply=safe`).
 */
export function parseLabelMap(spec: string): Record<string, boolean | null> {
  const map: Record<string, boolean | null> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const target = part.slice(0, eq).trim().toLowerCase();
    const values = part
      .slice(eq + 1)
      .split('|')
      .map((v) => v.trim());
    if (eq < 0 || !Object.hasOwn(TARGETS, target) || values.some((v) => v === '')) {
      throw new DatasetOptionError(
        `--label-map "${spec}": expected refuse=<value>,comply=<value> (also unlabelled=<value>; several values with |), e.g. --label-map refuse=1,comply=0`,
      );
    }
    for (const value of values) {
      const key = value.toLowerCase();
      if (Object.hasOwn(map, key) && map[key] !== TARGETS[target]) {
        throw new DatasetOptionError(`--label-map "${spec}": the value "${value}" is given two meanings`);
      }
      map[key] = TARGETS[target] ?? null;
    }
  }
  return map;
}
