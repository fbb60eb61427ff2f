// `nile sv [-v] [-w sec] command service…`: runit's sv, reading and driving supervise/ directly,
// so it works the same on nile's services and on real runsv's. Loads only node: built-ins.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAction } from '../runit/sv/actions.js';
import { directoryProblem, SvSession, type Service } from '../runit/sv/session.js';

export interface SvOptions {
  runDir: string; // holds service/app and service/sshd
  servicesDir: string; // where other service names are found
}

const usage = 'usage: nile sv [-v] [-w sec] command service ...\n';
const builtIn = new Set(['app', 'sshd']);
const pollMs = 420;

/** Exit status as sv's: the number of failures (at most 99), 100 for bad usage. */
export async function sv(args: string[], opts: SvOptions): Promise<number> {
  const parsed = parseOptions(args);
  const action = parsed && parseAction(parsed.command, parsed.verbose);
  if (!parsed || !action || parsed.names.length === 0) {
    process.stderr.write(usage);
    return 100;
  }
  const session = new SvSession(action.acts);
  const pending: Service[] = [];
  for (const name of parsed.names) {
    const service = { name, dir: serviceDir(name, opts) };
    const problem = directoryProblem(service.dir);
    if (problem) {
      session.fail(service, 'unable to change to service directory', problem);
      continue;
    }
    if (action.run === 'status') session.printStatus(service);
    if (action.run === 'control' && session.control(service, action.acts) === -1) continue;
    pending.push(service);
  }
  if (action.wait) await waitForEffect(session, pending, action.acts, action.kill, parsed.waitSeconds);
  return Math.min(session.failures, 99);
}

async function waitForEffect(session: SvSession, services: Service[], acts: string, kill: boolean, waitSeconds: number): Promise<void> {
  const started = Date.now();
  let pending = services;
  while (pending.length > 0) {
    const elapsed = (Date.now() - started) / 1000;
    pending = pending.filter((service) => {
      if (session.check(service, acts) !== 0) return false;
      if (elapsed <= waitSeconds) return true;
      session.timedOut(service, kill);
      return false;
    });
    if (pending.length === 0) return;
    await sleep(pollMs);
    session.now = Math.floor(Date.now() / 1000);
  }
}

/** app and sshd are nile's own; other plain names live in the services directory; paths are paths. */
function serviceDir(name: string, opts: SvOptions): string {
  const isPath = name.startsWith('/') || name.startsWith('.') || name.endsWith('/');
  if (isPath) return name;
  return builtIn.has(name) ? path.join(opts.runDir, 'service', name) : path.join(opts.servicesDir, name);
}

interface Parsed {
  verbose: boolean;
  waitSeconds: number;
  command: string;
  names: string[];
}

// getopt("w:v") as sv's, stopping at the first word that is not an option; SVWAIT sets the default.
function parseOptions(args: string[]): Parsed | null {
  let verbose = false;
  let waitSeconds = leadingNumber(process.env.SVWAIT) ?? 7;
  let i = 0;
  for (; i < args.length && args[i].startsWith('-') && args[i] !== '-'; i++) {
    if (args[i] === '--') {
      i++;
      break;
    }
    for (let j = 1; j < args[i].length; j++) {
      const flag = args[i][j];
      if (flag === 'v') verbose = true;
      else if (flag === 'w') {
        const value = j + 1 < args[i].length ? args[i].slice(j + 1) : args[++i];
        if (value === undefined) return null;
        waitSeconds = leadingNumber(value) ?? 0;
        verbose = true;
        break;
      } else return null;
    }
  }
  const [command, ...names] = args.slice(i);
  return command === undefined ? null : { verbose, waitSeconds, command, names };
}

function leadingNumber(text: string | undefined): number | null {
  const digits = /^\d+/.exec(text ?? '');
  return digits ? Number(digits[0]) : null;
}
