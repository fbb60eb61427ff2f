import { fileURLToPath } from 'node:url';
import path from 'node:path';

// Tests run compiled from dist/test/..., so the repository root is found by walking up to package.json.
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (path.basename(dir) === 'dist') return path.dirname(dir);
    dir = path.dirname(dir);
  }
  throw new Error('repository root not found');
}

export const ROOT = findRoot();
export const NILE_BIN = path.join(ROOT, 'bin', 'nile.js');
// The native front door (native/nile.c): `nile` on PATH in the image.
export const NILE_NATIVE = path.join(ROOT, 'build', 'Release', 'nile');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
