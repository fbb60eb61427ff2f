// Each init under test (nile, tini, dumb-init, runsv) runs as PID 1 of a new PID namespace, started
// the same way: `unshare --pid --fork --mount-proc --kill-child INIT ...`, as a container runtime would.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SpawnOptions } from 'node:child_process';
import { NILE_NATIVE } from '../helpers/paths.js';
import { start, stop, type Started } from './processes.js';
import { childrenOf } from '../helpers/proc.js';
import { waitFor } from '../helpers/wait.js';

export type Init = 'nile' | 'tini' | 'dumb-init';

export const unshare = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];

export interface Pid1 extends Started {
  /** The init's pid as the host sees it (unshare's only child). */
  initPid(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts `argv` as PID 1; `launcher` (e.g. `stamp T0`) runs first and execs unshare. */
export function startPid1(argv: string[], options: SpawnOptions & { launcher?: string[] } = {}): Pid1 {
  const { launcher = [], ...spawnOptions } = options;
  const [file, ...args] = [...launcher, ...unshare, ...argv];
  const started = start(file, args, spawnOptions);
  const unsharePid = started.proc.pid!;
  return {
    ...started,
    initPid: () => waitFor('the init of the new PID namespace', () => childrenOf(unsharePid)[0], 10_000, { everyMs: 1 }),
    stop: () => stop(started),
  };
}

/** The command line of an init over `app`; nile reads `nileConfig`. */
export function initCommand(init: Init, app: string[], nileConfig: string): string[] {
  switch (init) {
    case 'nile': // as the image's ENTRYPOINT starts it: the native front door, which execs Node
      return [NILE_NATIVE, 'run', '--config', nileConfig, '--', ...app];
    case 'tini':
      return ['tini', '--', ...app];
    case 'dumb-init':
      return ['dumb-init', ...app];
  }
}

/**
 * A nile.yaml for the PID-1 rows: a worker (ready while running, no probe traffic), never restarted,
 * no runit services beside it (the machine's /etc/service is not the bench's), and no wait for
 * traffic to end on SIGTERM (that wait is a setting, not nile's cost). JSON is YAML.
 */
export function writePid1Config(dir: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'nile.yaml');
  const config = {
    services: emptyServices(dir),
    project: 'bench',
    type: 'worker',
    app: { workdir: dir, restart: 'never', stopTimeout: '5s' },
    probe: { interval: '100ms' },
    prestop: { wait: '0s' },
    runDir: path.join(dir, 'run'),
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A runit service folder with nothing in it, under `dir`. */
export function emptyServices(dir: string): string {
  const services = path.join(dir, 'no-services');
  mkdirSync(services, { recursive: true });
  return services;
}
