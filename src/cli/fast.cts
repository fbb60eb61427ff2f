// The kubelet's commands, in CommonJS: starting Node's ESM loader would cost them more than their own work.
// Only the one asked for is loaded.
import { isFast, type FastVerb } from './args.cjs';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<FastVerb, () => Command> = {
  probe: () => (require('./probe.cjs') as typeof import('./probe.cjs')).probe,
  prestop: () => (require('./prestop.cjs') as typeof import('./prestop.cjs')).prestop,
  status: () => (require('./status.cjs') as typeof import('./status.cjs')).status,
};

export { isFast };

export const fastCommand = (verb: FastVerb): Command => commands[verb]();

export function runFast(verb: FastVerb, argv: string[]): void {
  fastCommand(verb)(argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`nile: ${err?.stack ?? err}\n`);
      process.exit(70);
    },
  );
}
