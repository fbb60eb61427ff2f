import { configFlag, parseVerbArgs } from './args.cjs';

/** `nile [run] [--config F] [-- CMD ARGS…]`: become PID 1 over the app. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('run', argv);
  if (typeof parsed === 'number') return parsed;
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ file: configFlag(parsed), command: parsed.rest });
  if (!loaded.ok) {
    process.stderr.write(`nile: invalid config${loaded.file ? ` (${loaded.file})` : ''}:\n${loaded.errors.map((e) => `  ${e}\n`).join('')}`);
    return 2;
  }
  const refused = (await import('../run-dir.js')).prepareRunDir(loaded.config.runDir);
  if (refused) {
    process.stderr.write(`nile: ${refused}\n`);
    return 2;
  }
  const [{ createLog }, { runAgent }, { redactorFor }] = await Promise.all([import('../log.js'), import('../agent/run.js'), import('../redact.js')]);
  const log = createLog(undefined, redactorFor(loaded.config));
  if (loaded.ignored.length) log.debug({ variables: loaded.ignored }, 'ignored: Kubernetes service links, not nile config keys');
  return runAgent(loaded.config, log);
}
