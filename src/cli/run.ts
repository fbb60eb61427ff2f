import { parseArgs } from './args.cjs';

/** `nile [run] [--config F] [-- CMD ARGS…]`: become PID 1 over the app, spawned before the logger loads. */
export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseArgs(argv);
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: flags.get('--config') as string | undefined, command: rest });
  if (!loaded.ok) {
    process.stderr.write(`nile: invalid config${loaded.file ? ` (${loaded.file})` : ''}:\n${loaded.errors.map((e) => `  ${e}\n`).join('')}`);
    return 2;
  }
  const [{ earlyLog }, { runAgent }] = await Promise.all([import('../early-log.js'), import('../agent/run.js')]);
  const early = earlyLog();
  const agent = runAgent(loaded.config, early.log); // the app is spawned by the time this returns
  const { createLog, writeHeld } = await import('../log.js');
  early.handOver(createLog(), writeHeld);
  return agent;
}
