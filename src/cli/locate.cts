import { existsSync } from 'node:fs';
import path from 'node:path';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';
import { findRunDir } from '../run-dir-rule.cjs';

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
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: configFile });
  const found = findRunDir(loaded.ok ? loaded.config.runDir : guess);
  if ('refused' in found) throw new Error(found.refused);
  return 'io' in found ? found.io : found.absent;
}
