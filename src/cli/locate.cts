import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';
import { findRunDir } from '../run-dir-rule.cjs';

const asBuilt = {
  'config/load.js': () => import('../config/load.js'),
  'probe/direct.js': () => import('../probe/direct.js'),
};

/**
 * A module of the agent the clients need without one (the config, the direct probe): the bundle's,
 * which carries YAML (the image keeps no yaml in node_modules), else as tsc built it. Inside the
 * bundle (ESM: no __dirname) the imports are the bundle's own.
 */
export function importAgentModule<K extends keyof typeof asBuilt>(fromSrc: K): ReturnType<(typeof asBuilt)[K]> {
  const bundled = typeof __dirname === 'string' ? path.join(__dirname, '..', '..', 'bundle', fromSrc) : null;
  return (bundled && existsSync(bundled) ? import(pathToFileURL(bundled).href) : asBuilt[fromSrc]()) as ReturnType<(typeof asBuilt)[K]>;
}

export const loadConfigModule = () => importAgentModule('config/load.js');

/**
 * The agent's runDir for the commands that ask it, found by the runDir rule (run-dir-rule.cts) and
 * held open: the path returned reaches it through that descriptor. NILE_RUNDIR or the default,
 * without reading YAML; only when no socket is there and a config file names another runDir is the
 * config loaded. A runDir that is not nile's is never asked: this rejects, saying why.
 */
export async function locateRunDir(configFile?: string): Promise<string> {
  const guess = runDirFromEnv();
  if (!configFile) {
    const found = findRunDir(guess);
    if ('io' in found && existsSync(path.join(found.io, socketName))) return found.io;
  }
  const { loadConfig } = await loadConfigModule();
  const loaded = loadConfig({ file: configFile });
  const found = findRunDir(loaded.ok ? loaded.config.runDir : guess);
  if ('refused' in found) throw new Error(found.refused);
  return 'io' in found ? found.io : found.absent;
}
