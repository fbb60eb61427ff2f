// The kubelet's commands, in CommonJS: starting Node's ESM loader would cost them more than their own work.
import { prestop } from './prestop.cjs';
import { probe } from './probe.cjs';
import { status } from './status.cjs';

const commands: Record<string, (argv: string[]) => Promise<number>> = { probe, prestop, status };

export function isFast(verb: string | undefined, argv: string[]): boolean {
  return verb !== undefined && verb in commands && !argv.includes('--help');
}

export function runFast(verb: string, argv: string[]): void {
  commands[verb](argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`nile: ${err?.stack ?? err}\n`);
      process.exit(70);
    },
  );
}
