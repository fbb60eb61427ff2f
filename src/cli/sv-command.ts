import { existsSync } from 'node:fs';
import path from 'node:path';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';
import { sv } from './sv.js';

/** `nile sv CMD SERVICE…`: runit's sv over nile's service directories. */
export async function svCommand(argv: string[]): Promise<number> {
  return sv(argv, await locations());
}

// NILE_RUNDIR / NILE_SERVICES when set (the shims set them); else what nile.yaml says.
async function locations(): Promise<{ runDir: string; servicesDir: string }> {
  const runDir = runDirFromEnv();
  if (process.env.NILE_SERVICES && existsSync(path.join(runDir, socketName))) return { runDir, servicesDir: process.env.NILE_SERVICES };
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig();
  const config = loaded.ok ? loaded.config : null;
  return {
    runDir: process.env.NILE_RUNDIR || config?.runDir || runDir,
    servicesDir: process.env.NILE_SERVICES || config?.services || '/etc/service',
  };
}
