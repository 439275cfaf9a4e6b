#!/usr/bin/env node
// Fails when a package.json declares a dependency that nothing in its package imports (issue 15). Biome's
// noUndeclaredDependencies covers the other direction (an import that no package.json declares).
// Usage: node scripts/check-deps.mjs [repo root]; exit 1 listing every unused dependency, 0 when there is none.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const SKIP = new Set(['node_modules', 'dist', 'coverage', '.git', 'results', 'test-fixtures', 'data']);
// Specifiers in import/export-from, dynamic import(), require() and import.meta.resolve().
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*|\bresolve\s*\(\s*)['"]([^'"]+)['"]/g;

/** Root tools that no file imports by name, and why they are needed. */
const IMPLICIT = {
  'ts-node': 'jest reads jest.config.ts through it',
  '@swc/core': 'the compiler @swc/jest drives (its peer dependency)',
  typescript: 'tsc: npm run typecheck / build',
  tsx: 'runs every npm script entry point',
  '@biomejs/biome': 'npm run lint',
};

function files(dir, nested) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    const st = statSync(path);
    // A workspace inside the tree is checked on its own, with its own package.json.
    if (st.isDirectory()) {
      if (!nested.has(path)) out.push(...files(path, nested));
    } else if (SOURCE.test(name)) out.push(path);
  }
  return out;
}

const isTestFile = (path) => /(?:^|[\\/])(?:test|bench)[\\/]|\.test\.[cm]?[jt]s$/.test(path);
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

function importedPackages(paths) {
  const used = new Set();
  for (const path of paths) {
    for (const m of readFileSync(path, 'utf8').matchAll(SPECIFIER)) {
      const spec = m[1];
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      used.add(packageName(spec));
    }
  }
  return used;
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const workspaces = (rootManifest.workspaces ?? []).map((w) => join(root, w));
const problems = [];
for (const dir of [root, ...workspaces]) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const isRoot = dir === root;
  // The root's dev tools serve every workspace: look for them in the whole tree.
  const all = files(dir, new Set(isRoot ? [] : workspaces.filter((w) => w !== dir)));
  const used = importedPackages(all);
  const shipped = importedPackages(all.filter((f) => !isTestFile(relative(dir, f))));
  const where = relative(root, join(dir, 'package.json')) || 'package.json';
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    if (!isRoot && used.has(dep) && !shipped.has(dep)) {
      problems.push(`${where}: "${dep}" is a dependency but only tests import it; move it to devDependencies`);
    }
  }
  const declared = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.optionalDependencies };
  for (const dep of Object.keys(declared)) {
    if (used.has(dep)) continue;
    // @types/x is used when x is.
    if (dep.startsWith('@types/') && (used.has(dep.slice(7)) || dep === '@types/node')) continue;
    if (isRoot && Object.hasOwn(IMPLICIT, dep)) continue;
    if (
      isRoot &&
      (dep === 'jest' || dep === '@swc/jest') &&
      readFileSync(join(root, 'jest.config.ts'), 'utf8').includes(dep)
    )
      continue;
    problems.push(
      `${where}: "${dep}" is declared but nothing in ${relative(root, dir) || 'the repository'} imports it; remove it (npm uninstall -w ${manifest.name} ${dep})`,
    );
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} dependency problem(s)`);
  process.exit(1);
}
console.log(`dependencies: every declared dependency of ${workspaces.length + 1} package.json files is imported`);
