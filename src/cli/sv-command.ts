import { existsSync } from 'node:fs';
import path from 'node:path';
import { runDirFromEnv, socketName } from '../control/protocol.cjs';
import { findRunDir } from '../run-dir-rule.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { sv } from './sv.js';

/** `nile sv [-v] [-w sec] [--config F] CMD SERVICE…`: runit's sv over nile's service directories. */
export async function svCommand(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('sv', argv);
  if (typeof parsed === 'number') return parsed;
  const { v, w } = parsed.flags;
  const svArgs = [...(v ? ['-v'] : []), ...(typeof w === 'string' ? ['-w', w] : []), '--', ...parsed.words];
  let where: { runDir: string; servicesDir: string };
  try {
    where = await locations(configFlag(parsed));
  } catch (err) {
    process.stderr.write(`fail: ${(err as Error).message}\n`);
    return 1;
  }
  return sv(svArgs, where);
}

// NILE_RUNDIR / NILE_SERVICES when set (the shims set them); else what the config says; names of
// other services are looked up where runit's sv looks when neither says. runDir is found by the
// runDir rule (run-dir-rule.cts): a volume's private directory, never one another user could have put there.
async function locations(configFile: string | undefined): Promise<{ runDir: string; servicesDir: string }> {
  const guess = runDirFromEnv();
  const found = findRunDir(guess);
  if (!configFile && process.env.NILE_SERVICES && 'io' in found && existsSync(path.join(found.io, socketName))) return { runDir: found.dir, servicesDir: process.env.NILE_SERVICES };
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: configFile });
  const config = loaded.ok ? loaded.config : null;
  const runDir = findRunDir(process.env.NILE_RUNDIR || config?.runDir || guess);
  if ('refused' in runDir) throw new Error(runDir.refused);
  return {
    runDir: 'io' in runDir ? runDir.dir : runDir.absent,
    servicesDir: process.env.NILE_SERVICES || config?.services || '/etc/service',
  };
}
