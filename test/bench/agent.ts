// A nile agent as PID 1 over the stub web app, probing it over HTTP, optionally registered in ZooKeeper.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Nile } from '../helpers/nile.js';
import { freePort } from '../helpers/ports.js';
import { track } from './processes.js';

const stubWeb = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stub-web.js');

export interface AgentOptions {
  project: string;
  interval?: string; // probe interval
  zookeeper?: string; // connect string
  prestopWait?: string;
  port?: number; // the app's; a free one by default
  services: string; // an empty runit service folder: the app alone is supervised
  metricsPort?: number; // metrics on, served here
  readyPort?: number; // probe.serve on: GET /ready served here
}

export interface Agent {
  nile: Nile;
  port: number;
  /** The ZooKeeper node nile should hold while the app is ready. */
  node: string;
  readyAt: number; // ms epoch of nile's `app ready`
}

const root = '/nginx/upstreams';

export const nodeOf = (project: string, port: number) => `${root}/${project}/127.0.0.1:${port}`;

/** Starts the agent and waits until it reports the app ready; the caller stops `nile`. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const port = options.port ?? (await freePort());
  const nile = new Nile({
    env: { NILE_LOG_LEVEL: 'info' },
    frontDoor: true, // as the image starts it
    config: {
      project: options.project,
      type: 'web',
      app: { command: [process.execPath, stubWeb, String(port)], stopTimeout: '5s' },
      probe: { http: { port }, interval: options.interval ?? '2s', ...(options.readyPort ? { serve: { port: options.readyPort, listen: '127.0.0.1' } } : {}) },
      registry: { address: '127.0.0.1', port, ...(options.zookeeper ? { zookeeper: { connect: options.zookeeper, root } } : {}) },
      prestop: { wait: options.prestopWait ?? '0s' },
      services: options.services,
      ...(options.metricsPort ? { metrics: { port: options.metricsPort, listen: '127.0.0.1' } } : {}),
    },
  });
  track(nile.proc);
  try {
    const ready = await nile.waitPhase('ready', 30_000);
    return { nile, port, node: nodeOf(options.project, port), readyAt: ready.time };
  } catch (err) {
    await nile.stop();
    throw err;
  }
}
