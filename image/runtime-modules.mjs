// Keeps in node_modules only what the bundle loads at run time: the packages package.json's bundle
// script leaves out of it (--external:NAME) and their dependencies, found as Node would find them.
// Run from the package root after `npm run build`, in the image's builder.
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

const manifest = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));

/** The directory Node would load `name` from, for a package in `from`. */
function resolve(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === '.' || dir === path.dirname(dir)) throw new Error(`runtime-modules: ${name} (needed by ${from}) is not installed`);
  }
}

const externals = [...manifest('.').scripts.bundle.matchAll(/--external:(\S+)/g)].map((m) => [m[1], '.']);
const kept = new Set();
while (externals.length > 0) {
  const [name, from] = externals.shift();
  const dir = resolve(name, from);
  if (kept.has(dir)) continue;
  kept.add(dir);
  const { dependencies = {}, optionalDependencies = {} } = manifest(dir);
  for (const dep of Object.keys(dependencies)) externals.push([dep, dir]);
  for (const dep of Object.keys(optionalDependencies)) {
    try {
      resolve(dep, dir);
      externals.push([dep, dir]);
    } catch {
      // an optional dependency not installed here
    }
  }
}

const staging = mkdtempSync('runtime-modules-');
for (const dir of kept) cpSync(dir, path.join(staging, dir), { recursive: true });
rmSync('node_modules', { recursive: true, force: true });
renameSync(path.join(staging, 'node_modules'), 'node_modules');
rmSync(staging, { recursive: true, force: true });
console.log(`runtime-modules: kept ${[...kept].sort().join(', ')}`);
