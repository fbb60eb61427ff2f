import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

/** A temporary folder for config files, removed at teardown; `yamlFile(text)` writes the next one. */
export function yamlFiles(t: Test, prefix: string): { dir: string; yamlFile: (text: string) => string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  return {
    dir,
    yamlFile: (text) => {
      const file = path.join(dir, `nile-${++files}.yaml`);
      writeFileSync(file, text);
      return file;
    },
  };
}
