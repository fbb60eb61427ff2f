// The `nile` command: pick the verb, load only what it needs. `probe`, `prestop` and `status` must
// stay a socket client: no execa, undici, pino or YAML on their path.

const usage = `nile: init and supervisor for Java containers

  nile [run] [--config F] [-- CMD ARGS…]   run as PID 1 over the app (the default)
  nile probe [--json]                      readiness verdict for the kubelet (exit 0 ready, 1 not)
  nile prestop                             take the instance out of traffic, then return
  nile status [--json]                     services, probes, registrations, last failure
  nile sv CMD SERVICE                      runit-style control: up down once restart term kill hup status exit
  nile doctor [--json]                     say why the app failed, with the evidence
  nile config [--config F]                 validate and print the effective config
  nile version

Config: /etc/nile/nile.yaml, --config F or NILE_CONFIG; every key also as NILE_<PATH>.
`;

const verbs: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  run: async () => (await import('./cli/run.js')).run,
  probe: async () => (await import('./cli/probe.cjs')).probe,
  prestop: async () => (await import('./cli/prestop.cjs')).prestop,
  status: async () => (await import('./cli/status.cjs')).status,
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
  if (first === 'version' || first === '--version') {
    const { createRequire } = await import('node:module');
    process.stdout.write(`nile ${ownPackage(createRequire(import.meta.url)).version}\n`);
    return 0;
  }
  if (first === 'help' || first === '--help' || first === '-h' || (first && verbs[first] && argv.includes('--help'))) {
    process.stdout.write(usage);
    return 0;
  }
  const verb = first === undefined || first.startsWith('-') ? 'run' : first;
  if (!verbs[verb]) {
    process.stderr.write(`nile: unknown command "${verb}"\n\n${usage}`);
    return 2;
  }
  const command = await verbs[verb]();
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
