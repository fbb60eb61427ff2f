import type { Server } from 'node:net';
import { AppSupervisor } from '../app/supervisor.js';
import { Serving } from '../calls/serving.js';
import type { Config } from '../config/schema.js';
import { openControlSocket } from '../control/server.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { MemoryWatch } from '../memory/watch.js';
import { metricsIfEnabled } from '../metrics/enabled.js';
import type { Metrics } from '../metrics/serve.js';
import { takePid1Duties } from '../pid1/duties.js';
import { handleSignals } from '../pid1/signals.js';
import { proberFor } from '../probe/prober.js';
import { redactorFor } from '../redact.js';
import { desiredFor, registerWhenReady } from '../registry/registration.js';
import { superviseApp } from './app-service.js';
import { controlHandlers, readiness, type Parts } from './control.js';
import { watchScene } from './scene.js';
import { startSideServices, type SideServices } from './services.js';
import { OutOfTraffic } from './traffic.js';

/**
 * PID 1, the story in one screen: take the duties, load the clients the config names (only those),
 * wire the app to the online/offline calls, the registry and the doctor, open the control socket,
 * start the app and the services beside it, watch the memory, serve the metrics, wait, stop the rest.
 */
export async function runAgent(config: Config, log: Log): Promise<number> {
  const duties = takePid1Duties(log);
  const hasApp = config.app.command.length > 0; // `app.command: []`: services only, as runsvdir
  let metrics: Metrics | null = null;
  const app = new AppSupervisor(config, log, await proberFor(config.probe, undefined, (kind, ok, ms) => metrics?.probed(kind, ok, ms)));
  let memory: MemoryWatch | null = null;
  const scene = watchScene(config, app, () => memory?.readings ?? []);
  // The online calls when the app becomes ready, before it is registered; the offline calls when it leaves.
  const serving = new Serving(config, log);
  app.onChange((state) => serving.follow(state));
  // Connected before the app starts: a registry's session is open by the time the app is ready.
  const registration = await registerWhenReady(config, app, () => traffic.draining, serving, log);
  const traffic = new OutOfTraffic(config.prestop, registration, log, () => app.state.phase === 'ready' || app.state.phase === 'notReady', serving);
  handleSignals({ forward: (signal) => app.forward(signal), onStop: stopOnce(app, traffic, log) });
  // What answers for the app (the control socket, its supervise directory) is up before it starts;
  // sshd and the runit services come up beside it.
  let side: SideServices = { list: () => [], stop: async () => {} };
  const parts: Parts = { app, hasApp, traffic, side: { list: () => side.list(), stop: () => side.stop() }, registration, scene, serving, memory: () => memory, redact: redactorFor(config) };
  const control = await openControlSocket(config.runDir, controlHandlers(parts), log);
  traffic.onChange(() => serving.goingOffline || registration?.want(desiredFor(app.state.phase, traffic.draining, serving.online)));
  const supervise = hasApp ? await superviseApp(config.runDir, app, traffic, log, offlineBeforeDown(serving, app)).catch((err) => void log.error({ err: errorText(err) }, 'runDir/service/app cannot be supervised')) : undefined;
  if (hasApp) app.boot();
  side = await startSideServices(config, log);
  memory = await MemoryWatch.start(config, log);
  // After the app is spawned: its start does not wait for the metrics library.
  metrics = await metricsIfEnabled(config.metrics, { app, ready: () => readiness(parts).ready, registry: () => registration?.status() ?? [], serving, memory: () => memory }, log);
  log.info({ pid: process.pid, project: config.project, type: config.type, runDir: config.runDir }, 'nile started');
  const code = await app.exited;
  memory?.stop();
  await metrics?.close();
  await side.stop();
  await supervise?.close();
  await Promise.race([registration?.close(), sleep(3000)]);
  await closeServer(control);
  duties.stop();
  log.info({ code }, 'nile exiting with the app status');
  return code;
}

// `sv down` while in service: the offline calls (the RPC framework's too) before the app gets its stop signal.
function offlineBeforeDown(serving: Serving, app: AppSupervisor) {
  return (letter: string) => ((letter === 'd' || letter === 'x') && serving.inService ? void serving.goOffline().then(() => app.control(letter)) : app.control(letter));
}

// SIGTERM (or INT): out of traffic first unless a prestop already did it, then stop the app.
function stopOnce(app: AppSupervisor, traffic: OutOfTraffic, log: Log) {
  let stopping = false;
  return (signal: 'TERM' | 'INT') => {
    if (stopping) return log.info({ signal }, 'already stopping');
    stopping = true;
    log.info({ signal }, 'stop requested');
    traffic.cutShort();
    void traffic.start(`SIG${signal}`).then(() => app.shutdown(signal === 'INT' ? 'INT' : undefined));
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
