import { existsSync } from 'node:fs';
import path from 'node:path';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { sv } from './sv.js';

/** `nile sv [-v] [-w sec] [--config F] CMD SERVICE…`: runit's sv over nile's service directories. */
export async function svCommand(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('sv', argv);
  if (typeof parsed === 'number') return parsed;
  const { v, w } = parsed.flags;
  const svArgs = [...(v ? ['-v'] : []), ...(typeof w === 'string' ? ['-w', w] : []), '--', ...parsed.words];
  return sv(svArgs, await locations(configFlag(parsed)));
}

// NILE_RUNDIR / NILE_SERVICES when set (the shims set them); else what the config says; names of
// other services are looked up where runit's sv looks when neither says.
async function locations(configFile: string | undefined): Promise<{ runDir: string; servicesDir: string }> {
  const runDir = runDirFromEnv();
  if (!configFile && process.env.NILE_SERVICES && existsSync(path.join(runDir, socketName))) return { runDir, servicesDir: process.env.NILE_SERVICES };
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: configFile });
  const config = loaded.ok ? loaded.config : null;
  return {
    runDir: process.env.NILE_RUNDIR || config?.runDir || runDir,
    servicesDir: process.env.NILE_SERVICES || config?.services || '/etc/service',
  };
}
