import { parseArgs } from './args.js';
import { runDirFromEnv } from '../control/protocol.js';
import { sv } from './sv.js';

/** `nile sv CMD SERVICE…`: runit's sv over nile's service directories. */
export async function svCommand(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv);
  const servicesDir = process.env.NILE_SERVICES || '/etc/service';
  return sv(argv.filter((a) => a !== '--config' && a !== flags.get('--config')), { runDir: runDirFromEnv(), servicesDir });
}
