import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

// Preloaded with `--import`: writes the URL of every module the process loads to MODULE_RECORD_FILE.
// ES modules are seen by a resolve hook (module-recorder-hooks.js); CommonJS ones, which a package
// may require without the ESM loader seeing them, are read from require.cache at exit.
const file = process.env.MODULE_RECORD_FILE;
if (file) {
  register(new URL('./module-recorder-hooks.js', import.meta.url), { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(file, Object.keys(cache).map((p) => pathToFileURL(p).href + '\n').join('')));
}
