import { appendFileSync } from 'node:fs';
import { builtinModules, createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

// Preloaded with `--import`: writes the URL of every module the process loads to MODULE_RECORD_FILE.
// ES modules are seen by a resolve hook (module-recorder-hooks.js); CommonJS ones, which a package
// may require without the ESM loader seeing them, are read from require.cache at exit, and the built-ins
// the bundle requires (bundle.mjs) from Node's own list of what it loaded.
const file = process.env.MODULE_RECORD_FILE;
if (file) {
  register(new URL('./module-recorder-hooks.js', import.meta.url), { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  const builtins = new Set(builtinModules);
  const loaded = () => (process as unknown as { moduleLoadList: string[] }).moduleLoadList.flatMap((m) => (m.startsWith('NativeModule ') && builtins.has(m.slice(13)) ? [`node:${m.slice(13)}`] : []));
  process.on('exit', () => appendFileSync(file, [...Object.keys(cache).map((p) => pathToFileURL(p).href), ...loaded()].map((m) => m + '\n').join('')));
}
