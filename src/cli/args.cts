// Every verb's flags and usage, parsed by node:util's parseArgs (strict): an unknown flag is a usage
// error, never ignored. CommonJS and only node: built-ins: the fast commands load it.
import { parseArgs as parseNodeArgs } from 'node:util';

type Option = { type: 'string' | 'boolean'; short?: string };

interface Syntax {
  usage: string; // the verb's usage line(s), as `nile VERB --help` prints them
  options: Record<string, Option>;
  words: boolean; // takes words (sv's command and services)
  rest: boolean; // takes `-- CMD ARGS…`
}

const config: Record<string, Option> = { config: { type: 'string' } };
const json: Record<string, Option> = { json: { type: 'boolean' } };

export const verbs = {
  run: { usage: 'nile [run] [--config F] [-- CMD ARGS…]   run as PID 1 over the app (the default)', options: config, words: false, rest: true },
  probe: { usage: 'nile probe [--json] [--config F]        readiness verdict for the kubelet (exit 0 ready, 1 not)', options: { ...config, ...json }, words: false, rest: false },
  prestop: { usage: 'nile prestop [--config F]               take the instance out of traffic, then return', options: config, words: false, rest: false },
  status: { usage: 'nile status [--json] [--config F]       services, probes, registrations, last failure', options: { ...config, ...json }, words: false, rest: false },
  sv: {
    usage: 'nile sv [-v] [-w sec] [--config F] CMD SERVICE…   runit-style control: up down once restart term kill hup status exit',
    options: { ...config, v: { type: 'boolean', short: 'v' }, w: { type: 'string', short: 'w' } },
    words: true,
    rest: false,
  },
  doctor: { usage: 'nile doctor [--json] [--config F]       say why the app failed, with the evidence', options: { ...config, ...json }, words: false, rest: false },
  config: { usage: 'nile config [--config F]                validate and print the effective config', options: config, words: false, rest: false },
  version: { usage: 'nile version [--config F]               print nile\'s version', options: config, words: false, rest: false },
} satisfies Record<string, Syntax>;

export type Verb = keyof typeof verbs;

/** The kubelet's verbs: socket clients in CommonJS (src/cli/fast.cts), which bin/nile.js runs before any ESM loads. */
export const fastVerbs = ['probe', 'prestop', 'status'] as const satisfies readonly Verb[];
export type FastVerb = (typeof fastVerbs)[number];

export const isVerb = (word: string): word is Verb => Object.hasOwn(verbs, word);
export const isFast = (word: string | undefined): word is FastVerb => (fastVerbs as readonly string[]).includes(word as string);

export const usage = `nile: init and supervisor for Java containers

${Object.values(verbs)
  .map((v) => `  ${v.usage}\n`)
  .join('')}  nile VERB --help                         that verb's usage

Config: /etc/nile/nile.yaml, --config F or NILE_CONFIG; every key also as NILE_<PATH>.
`;

export const verbUsage = (verb: Verb) => `usage: ${verbs[verb].usage}\n`;

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  words: string[];
  rest: string[] | undefined; // after `--`
}

/**
 * The verb's flags, or the exit status when there is nothing more to do: 0 after `--help` (the
 * usage on stdout), 2 after a usage error (the reason and the usage on stderr).
 */
export function parseVerbArgs(verb: Verb, argv: string[]): Parsed | number {
  const syntax: Syntax = verbs[verb];
  const end = syntax.rest ? argv.indexOf('--') : -1;
  const own = end >= 0 ? argv.slice(0, end) : argv;
  try {
    const { values, positionals } = parseNodeArgs({ args: own, options: { ...syntax.options, help: { type: 'boolean' } }, allowPositionals: syntax.words, strict: true });
    if (values.help) {
      process.stdout.write(verbUsage(verb));
      return 0;
    }
    return { flags: values, words: positionals, rest: end >= 0 ? argv.slice(end + 1) : undefined };
  } catch (err) {
    process.stderr.write(`nile ${verb}: ${(err as Error).message.split('\n')[0]}\n${verbUsage(verb)}`);
    return 2;
  }
}

/** The `--config F` a verb was given. */
export const configFlag = (parsed: Parsed) => parsed.flags.config as string | undefined;
