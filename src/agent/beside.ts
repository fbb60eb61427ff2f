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
import type { RegistrationState } from '../registry/registration.js';
import { within } from '../toolbox/sleep.js';
import type { Traffic } from '../traffic/traffic.js';
import { superviseApp } from './app-service.js';
import { controlHandlers, readiness, type Answering } from './control.js';
import { followRegistration } from './follow.js';
import type { Held } from './held.js';
import { readinessIfEnabled } from './readiness-endpoint.js';
import { startSideServices } from './services.js';

/** What the agent has made before the app starts, which what comes up beside it answers for. */
interface StartedBefore {
  app: AppSupervisor;
  hasApp: boolean;
  traffic: Traffic;
  out: OutOfTraffic;
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
export async function bringUpBeside(config: Config, log: Log, { app, hasApp, traffic, out, scene, serving, held, record, previous }: StartedBefore): Promise<{ close(): Promise<void> }> {
  const parts: Answering = {
    app,
    hasApp,
    traffic,
    out,
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
    hasApp ? superviseApp(config.runDir, app, traffic, log, (letter) => traffic.dispatch({ type: 'letter', letter, at: Date.now() })).catch((err) => void log.error({ err: errorText(err) }, 'runDir/service/app cannot be supervised')) : undefined,
    held.registration.state === 'none' ? held.registration : registerFollowing(config, log, traffic, held),
    startSideServices(config, log),
  ]);
  const reconciler = registration.state === 'ready' ? registration.reconciler : null;
  held.side = started;
  held.memory = await MemoryWatch.start(config, log);
  keepReadings(held.memory, record);
  held.metrics = await metricsIfEnabled(config.metrics, { app, ready: () => readiness(parts).ready, registry: () => reconciler?.status() ?? [], serving, memory: () => held.memory, previous }, log);
  return {
    async close() {
      held.memory?.stop();
      await held.metrics?.close();
      await held.side?.stop();
      await supervise?.close();
      await within(reconciler?.close() ?? Promise.resolve(), 3000, undefined);
      await ready?.close();
      await closeServer(control);
    },
  };
}

// The registry clients load beside the app; the registration follows the traffic from the moment they are up (or failed).
async function registerFollowing(config: Config, log: Log, traffic: Traffic, held: Held): Promise<RegistrationState> {
  const { startRegistration } = await import('../registry/registration.js');
  const registration = await startRegistration(config, log);
  held.registration = registration;
  if (registration.state === 'ready') followRegistration(traffic, registration.reconciler);
  else traffic.dispatch({ type: 'registry', state: registration.state });
  return registration;
}

// Each memory reading goes into the record, the one taken at the watch's start too.
function keepReadings(memory: MemoryWatch | null, record: RecordKeeper): void {
  if (!memory) return;
  const keep = (reading: MemoryReading) => record.reading(reading, memory.cgroup.dir);
  if (memory.last) keep(memory.last);
  memory.onReading(keep);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
