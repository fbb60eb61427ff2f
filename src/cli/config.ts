import { configFlag, parseVerbArgs } from './args.cjs';

/** `nile config [--config F]`: validate and print the effective config, secrets redacted. */
export async function config(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('config', argv);
  if (typeof parsed === 'number') return parsed;
  const [{ loadConfig }, { printConfig }] = await Promise.all([import('../config/load.js'), import('../config/print.js')]);
  const loaded = loadConfig({ file: configFlag(parsed) });
  if (!loaded.ok) {
    process.stderr.write(`invalid config${loaded.file ? ` (${loaded.file})` : ''}:\n${loaded.errors.map((e) => `  ${e}\n`).join('')}`);
    return 2;
  }
  process.stdout.write(printConfig(loaded.config));
  return 0;
}
