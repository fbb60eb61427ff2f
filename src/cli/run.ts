import { parseArgs } from './args.cjs';

/** `nile [run] [--config F] [-- CMD ARGS…]`: become PID 1 over the app. */
export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseArgs(argv);
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: flags.get('--config') as string | undefined, command: rest });
  if (!loaded.ok) {
    process.stderr.write(`nile: invalid config${loaded.file ? ` (${loaded.file})` : ''}:\n${loaded.errors.map((e) => `  ${e}\n`).join('')}`);
    return 2;
  }
  const [{ createLog }, { runAgent }] = await Promise.all([import('../log.js'), import('../agent/run.js')]);
  return runAgent(loaded.config, createLog());
}
