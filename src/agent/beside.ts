import type { Server } from 'node:net';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Serving } from '../calls/serving.js';
import type { Config } from '../config/schema.js';
import { openControlSocket } from '../control/server.js';
import type { Finding } from '../control/protocol.cjs';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import type { MemoryReading } from '../cgroup/reading.js';
import { MemoryWatch } from '../memory/watch.js';
import type { RecordKeeper } from '../record/keeper.js';
import type { PreviousEnd } from '../record/previous.js';
import { metricsIfEnabled } from '../metrics/enabled.js';
import type { OutOfTraffic } from '../prestop/out-of-traffic.js';
import { redactorFor } from '../redact.js';
import type { Reconciler } from '../registry/reconciler.js';
import { superviseApp } from './app-service.js';
import { controlHandlers, readiness, type Parts as ControlParts } from './control.js';
import { follow } from './follow.js';
import { readinessIfEnabled } from './readiness-endpoint.js';
import type { Held } from './run.js';
import { startSideServices } from './services.js';

interface Parts {
  app: AppSupervisor;
  hasApp: boolean;
  traffic: OutOfTraffic;
  scene: { now(): Promise<Finding[]> };
  serving: Serving;
  held: Held; // filled in here as each part comes up
  record: RecordKeeper; // the container's record in runDir, which keeps the memory readings
  previous: PreviousEnd | null; // how the previous container of the pod ended
}

/**
 * What comes up beside the running app: the control socket first (the probe then answers
 * `starting`) and the readiness endpoint when probe.serve asks for it, then at once its supervise
 * directory, the registry clients and sshd with the runit services; then the memory watch and the
 * metrics. `close()` stops them in reverse.
 */
export async function bringUpBeside(config: Config, log: Log, { app, hasApp, traffic, scene, serving, held, record, previous }: Parts): Promise<{ close(): Promise<void> }> {
  const parts: ControlParts = {
    app,
    hasApp,
    traffic,
    services: () => held.side?.list() ?? [],
    registration: () => held.registration,
    scene,
    serving,
    memory: () => held.memory,
    redact: redactorFor(config),
    previous,
  };
  const handlers = controlHandlers(parts);
  const control = await openControlSocket(config.runDir, handlers, log);
  const ready = await readinessIfEnabled(config.probe.serve, () => handlers.probe(''), log);
  const [supervise, registration, started] = await Promise.all([
    hasApp ? superviseApp(config.runDir, app, traffic, log, appControl(app, traffic, serving)).catch((err) => void log.error({ err: errorText(err) }, 'runDir/service/app cannot be supervised')) : undefined,
    held.registration === null ? null : registerFollowing(config, log, { app, traffic, serving }),
    startSideServices(config, log),
  ]);
  held.registration = registration;
  held.side = started;
  held.memory = await MemoryWatch.start(config, log);
  keepReadings(held.memory, record);
  held.metrics = await metricsIfEnabled(config.metrics, { app, ready: () => readiness(parts).ready, registry: () => registration?.status() ?? [], serving, memory: () => held.memory, previous }, log);
  return {
    async close() {
      held.memory?.stop();
      await held.metrics?.close();
      await held.side?.stop();
      await supervise?.close();
      await Promise.race([registration?.close(), sleep(3000)]);
      await ready?.close();
      await closeServer(control);
    },
  };
}

// The registry clients load beside the app; the registration follows it from the moment they are up.
async function registerFollowing(config: Config, log: Log, { app, traffic, serving }: Pick<Parts, 'app' | 'traffic' | 'serving'>): Promise<Reconciler | null> {
  const { startRegistration } = await import('../registry/registration.js');
  const registration = await startRegistration(config, log);
  if (registration) follow(app, traffic, serving, registration);
  return registration;
}

/**
 * The operator's letters to the app, with what they mean for its traffic: `sv down` (or exit) while in
 * service makes the offline calls before the app gets its stop signal; `sv up` after a stray prestop
 * brings it back into traffic.
 */
function appControl(app: AppSupervisor, traffic: OutOfTraffic, serving: Serving) {
  return (letter: string) => {
    if (letter === 'u') traffic.resume();
    if ((letter === 'd' || letter === 'x') && serving.inService) return void serving.goOffline().then(() => app.control(letter));
    app.control(letter);
  };
}

// Each memory reading goes into the record, the one taken at the watch's start too.
function keepReadings(memory: MemoryWatch | null, record: RecordKeeper): void {
  if (!memory) return;
  const keep = (reading: MemoryReading) => record.reading(reading, memory.cgroup.dir);
  if (memory.last) keep(memory.last);
  memory.onReading(keep);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
