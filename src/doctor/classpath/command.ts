import path from 'node:path';

/**
 * The classpath a `java` command line loads from: `-cp`, `-classpath`, `--class-path` (or
 * `--class-path=`), else the CLASSPATH variable, as java itself reads them; none with `-jar`.
 * Entries are split on `:` and resolved against the workdir; `dir/*` wildcards are kept for the reader.
 */
export function classpathOf(command: string[], env: Record<string, string | undefined>, workdir: string): string[] {
  if (!/(^|\/)java$/.test(command[0] ?? '') || command.includes('-jar')) return [];
  let list: string | undefined;
  for (let i = 1; i < command.length; i++) {
    const arg = command[i]!;
    if (arg === '-cp' || arg === '-classpath' || arg === '--class-path') list = command[++i];
    else if (arg.startsWith('--class-path=')) list = arg.slice('--class-path='.length);
    else if (!arg.startsWith('-')) break; // the main class: what follows is the app's own arguments
  }
  list ??= env.CLASSPATH;
  if (!list) return [];
  return list.split(':').filter(Boolean).map((entry) => path.resolve(workdir, entry));
}
