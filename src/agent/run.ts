import type { Server } from 'node:net';
import { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import { openControlSocket } from '../control/server.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { takePid1Duties } from '../pid1/duties.js';
import { handleSignals } from '../pid1/signals.js';
import { proberFor } from '../probe/prober.js';
import { redactorFor } from '../redact.js';
import { desiredFor, registerWhenReady } from '../registry/registration.js';
import { superviseApp } from './app-service.js';
import { controlHandlers } from './control.js';
import { watchScene } from './scene.js';
import { startSideServices, type SideServices } from './services.js';
import { OutOfTraffic } from './traffic.js';

/**
 * PID 1, the story in one screen: take the duties, load the clients the config names (only those),
 * wire the app to the registry and the doctor, open the control socket, start the app and the
 * services beside it, wait, stop the rest.
 */
export async function runAgent(config: Config, log: Log): Promise<number> {
  const duties = takePid1Duties(log);
  const hasApp = config.app.command.length > 0; // `app.command: []`: services only, as runsvdir
  const app = new AppSupervisor(config, log, await proberFor(config.probe));
  const scene = watchScene(config, app);
  // Connected before the app starts: a registry's session is open by the time the app is ready.
  const registration = await registerWhenReady(config, app, () => traffic.draining, log);
  const traffic = new OutOfTraffic(config.prestop, registration, log, () => app.state.phase === 'ready' || app.state.phase === 'notReady');
  handleSignals({ forward: (signal) => app.forward(signal), onStop: stopOnce(app, traffic, log) });
  // What answers for the app (the control socket, its supervise directory) is up before it starts;
  // sshd and the runit services come up beside it.
  let side: SideServices = { list: () => [], stop: async () => {} };
  const control = await openControlSocket(config.runDir, controlHandlers({ app, hasApp, traffic, side: { list: () => side.list(), stop: () => side.stop() }, registration, scene, redact: redactorFor(config) }), log);
  traffic.onChange(() => registration?.want(desiredFor(app.state.phase, traffic.draining)));
  const supervise = hasApp ? await superviseApp(config.runDir, app, traffic, log).catch((err) => void log.error({ err: errorText(err) }, 'runDir/service/app cannot be supervised')) : undefined;
  if (hasApp) app.boot();
  side = await startSideServices(config, log);
  log.info({ pid: process.pid, project: config.project, type: config.type, runDir: config.runDir }, 'nile started');
  const code = await app.exited;
  await side.stop();
  await supervise?.close();
  await Promise.race([registration?.close(), sleep(3000)]);
  await closeServer(control);
  duties.stop();
  log.info({ code }, 'nile exiting with the app status');
  return code;
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
