/** `--flag value` / `--flag=value` options and the words after `--`. Tiny on purpose: the fast commands use it. */
export function parseArgs(argv: string[]): { words: string[]; flags: Map<string, string | true>; rest: string[] | undefined } {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  const valued = new Set(['--config']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { words, flags, rest: argv.slice(i + 1) };
    if (arg.startsWith('--') && arg.includes('=')) flags.set(arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1));
    else if (valued.has(arg)) flags.set(arg, argv[++i] ?? '');
    else if (arg.startsWith('-') && arg !== '-') flags.set(arg, true);
    else words.push(arg);
  }
  return { words, flags, rest: undefined };
}
