import { setImmediate as nextTurn } from 'node:timers/promises';
import { configFlag, parseVerbArgs } from './args.cjs';

/** `nile [run] [--config F] [-- CMD ARGS…]`: become PID 1 over the app, spawned before the logger loads. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('run', argv);
  if (typeof parsed === 'number') return parsed;
  // Loaded side by side: each import is a turn of the module loader, and the app waits for all of them.
  const [{ loadConfig, settleRunDir }, { privilegeErrors }, { prepareRunDir }, { earlyLog }, { runAgent }] = await Promise.all([
    import('../config/load.js'),
    import('../config/privileges.js'),
    import('../run-dir.js'),
    import('../early-log.js'),
    import('../agent/run.js'),
  ]);
  const loaded = loadConfig({ file: configFlag(parsed), command: parsed.rest });
  const errors = loaded.ok ? privilegeErrors(loaded.config) : loaded.errors;
  if (!loaded.ok || errors.length) {
    process.stderr.write(`nile: invalid config${loaded.file ? ` (${loaded.file})` : ''}:\n${errors.map((e) => `  ${e}\n`).join('')}`);
    return 2;
  }
  const runDir = prepareRunDir(loaded.config.runDir);
  if ('refused' in runDir) {
    process.stderr.write(`nile: ${runDir.refused}\n`);
    return 2;
  }
  settleRunDir(loaded.config, runDir.dir); // a volume's private directory: everything nile keeps goes there
  const early = earlyLog();
  for (const note of runDir.notes) early.log.info({ runDir: runDir.dir }, note);
  if (loaded.ignored.length) early.log.debug({ variables: loaded.ignored }, 'ignored: Kubernetes service links, not nile config keys');
  const agent = runAgent(loaded.config, early.log);
  await nextTurn(); // the app is spawned before the logger's modules are read and compiled
  const [{ createLog, writeHeld }, { redactorFor }] = await Promise.all([import('../log.js'), import('../redact.js')]);
  early.handOver(createLog(undefined, redactorFor(loaded.config)), writeHeld);
  return agent;
}
