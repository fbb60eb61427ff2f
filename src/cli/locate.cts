import { existsSync } from 'node:fs';
import path from 'node:path';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';

/**
 * The agent's runDir for the fast commands: NILE_RUNDIR or the default, without reading YAML; only
 * when no socket is there and a config file names another runDir is the config loaded.
 */
export async function locateRunDir(configFile?: string): Promise<string> {
  const guess = runDirFromEnv();
  if (!configFile && existsSync(path.join(guess, socketName))) return guess;
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: configFile });
  return loaded.ok ? loaded.config.runDir : guess;
}
