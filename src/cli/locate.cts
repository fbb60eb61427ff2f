import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';

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
 * The agent's runDir for the fast commands: NILE_RUNDIR or the default, without reading YAML; only
 * when no socket is there and a config file names another runDir is the config loaded.
 */
export async function locateRunDir(configFile?: string): Promise<string> {
  const guess = runDirFromEnv();
  if (!configFile && existsSync(path.join(guess, socketName))) return guess;
  const { loadConfig } = await loadConfigModule();
  const loaded = loadConfig({ file: configFile });
  return loaded.ok ? loaded.config.runDir : guess;
}
