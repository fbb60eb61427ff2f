// The `nile` command: pick the verb, load only what it needs. The verbs are src/cli/args.cts's table;
// `probe`, `prestop` and `status` stay a socket client (src/cli/fast.cts): no pino, registry client or
// YAML on their path, and bin/nile.js sends them there before this module loads.
import { isFast, isVerb, parseVerbArgs, usage, type FastVerb, type Verb } from './cli/args.cjs';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<Exclude<Verb, FastVerb | 'version'>, () => Promise<Command>> = {
  run: async () => (await import('./cli/run.js')).run,
  sv: async () => (await import('./cli/sv-command.js')).svCommand,
  doctor: async () => (await import('./cli/doctor.js')).doctor,
  config: async () => (await import('./cli/config.js')).config,
};

// From dist/src/ or from dist/bundle/.
function ownPackage(require: NodeRequire): { version: string } {
  try {
    return require('../../package.json');
  } catch {
    return require('../package.json');
  }
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  const verb = first === undefined || first.startsWith('-') ? 'run' : first;
  if (!isVerb(verb)) {
    process.stderr.write(`nile: unknown command "${verb}"\n\n${usage}`);
    return 2;
  }
  if (verb === 'version' || first === '--version') {
    const parsed = parseVerbArgs('version', verb === 'version' ? argv.slice(1) : []);
    if (typeof parsed === 'number') return parsed; // --help, or a usage error
    const { createRequire } = await import('node:module');
    process.stdout.write(`nile ${ownPackage(createRequire(import.meta.url)).version}\n`);
    return 0;
  }
  const command = isFast(verb) ? (await import('./cli/fast.cjs')).default.fastCommand(verb) : await commands[verb]();
  return command(verb === first ? argv.slice(1) : argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // PID 1 must not wait for stray handles once the app is gone; the fast commands are done too.
    setImmediate(() => process.exit(code));
  },
  (err) => {
    process.stderr.write(`nile: ${err?.stack ?? err}\n`);
    process.exit(70);
  },
);
