import path from 'node:path';
import { readRegularFile } from '../../fd.js';

// An argument file is a few lines (jib's classpath file lists every jar on one); a larger one is not read.
const maxArgFileBytes = 1 << 20;

/**
 * The classpath a `java` command line loads from: `-cp`, `-classpath`, `--class-path` (or
 * `--class-path=`), else the CLASSPATH variable, as java itself reads them; none with `-jar`.
 * `@file` arguments are read as java reads them (jib's `-cp @/app/jib-classpath-file`).
 * Entries are split on `:` and resolved against the workdir; `dir/*` wildcards are kept for the reader.
 */
export function classpathOf(command: string[], env: Record<string, string | undefined>, workdir: string): string[] {
  if (!/(^|\/)java$/.test(command[0] ?? '')) return [];
  const expanded = command.slice(1).map((arg) => (arg.startsWith('@') && !arg.startsWith('@@') ? argFile(path.resolve(workdir, arg.slice(1))) : [arg]));
  if (expanded.includes(null)) return []; // java itself stops at an argument file it cannot read
  const args = (expanded as string[][]).flat();
  if (args.includes('-jar')) return [];
  let list: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-cp' || arg === '-classpath' || arg === '--class-path') list = args[++i];
    else if (arg.startsWith('--class-path=')) list = arg.slice('--class-path='.length);
    else if (!arg.startsWith('-')) break; // the main class: what follows is the app's own arguments
  }
  list ??= env.CLASSPATH;
  if (!list) return [];
  return list.split(':').filter(Boolean).map((entry) => path.resolve(workdir, entry));
}

/** The arguments in a java argument file (separated by white space, quoted with " or ', `#` comments to the line's end); null when it cannot be read. */
function argFile(file: string): string[] | null {
  let text: string;
  try {
    text = readRegularFile(file, maxArgFileBytes).text; // a FIFO planted there must not hang the doctor
  } catch {
    return null;
  }
  const args: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|#[^\n]*|(\S+)/g)) {
    const value = match[1] ?? match[2] ?? match[3];
    if (value !== undefined) args.push(value);
  }
  return args;
}
