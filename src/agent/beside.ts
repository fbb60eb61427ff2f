import type { Server } from 'node:net';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import { openControlSocket } from '../control/server.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import type { Reconciler } from '../registry/reconciler.js';
import { superviseApp } from './app-service.js';
import { controlHandlers } from './control.js';
import type { Finding } from '../doctor/finding.js';
import { startSideServices, type SideServices } from './services.js';
import type { OutOfTraffic } from './traffic.js';

interface Parts {
  app: AppSupervisor;
  hasApp: boolean;
  traffic: OutOfTraffic;
  scene: { now(): Promise<Finding[]> };
  held: { registration: Reconciler | null | undefined }; // filled in here once the registry clients are up
}

/**
 * What comes up beside the running app: the control socket first (the probe then answers
 * `starting`), then at once its supervise directory, the registry clients and sshd with the runit
 * services. `close()` stops them in reverse.
 */
export async function bringUpBeside(config: Config, log: Log, { app, hasApp, traffic, scene, held }: Parts): Promise<{ close(): Promise<void> }> {
  let side: SideServices = { list: () => [], stop: async () => {} };
  const sideNow = { list: () => side.list(), stop: () => side.stop() };
  const control = await openControlSocket(config.runDir, controlHandlers({ app, hasApp, traffic, side: sideNow, registration: () => held.registration, scene }), log);
  const [supervise, registration, started] = await Promise.all([
    hasApp ? superviseApp(config.runDir, app, log).catch((err) => void log.error({ err: errorText(err) }, 'runDir/service/app cannot be supervised')) : undefined,
    held.registration === null ? null : import('../registry/registration.js').then(({ registerWhenReady }) => registerWhenReady(config, app, () => traffic.draining, log)),
    startSideServices(config, log),
  ]);
  held.registration = registration;
  side = started;
  return {
    async close() {
      await side.stop();
      await supervise?.close();
      await Promise.race([registration?.close(), sleep(3000)]);
      await closeServer(control);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
