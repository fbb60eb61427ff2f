import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import { openControlSocket } from '../control/server.js';
import type { Log } from '../log.js';
import { takePid1Duties } from '../pid1/duties.js';
import { handleSignals } from '../pid1/signals.js';
import { proberFor } from '../probe/prober.js';
import { desiredFor, startRegistration } from '../registry/registration.js';
import { examineScene, oomKills } from './scene.js';
import { startSideServices } from './services.js';
import { superviseApp } from './app-service.js';
import { serviceLine, statusOf } from './status.js';
import { errorText } from '../errors.js';
import { OutOfTraffic } from './traffic.js';
import { verdict } from './verdict.js';

/**
 * PID 1: take the duties, open the control socket, start the app, then wait. The story of the
 * agent, one step a line; each step lives one level down.
 */
export async function runAgent(config: Config, log: Log): Promise<number> {
  const duties = takePid1Duties(log);
  const hasApp = config.app.command.length > 0;
  mkdirSync(config.runDir, { recursive: true, mode: 0o755 });
  const app = new AppSupervisor(config, log, proberFor(config.probe));
  const registration = startRegistration(config, log);
  const traffic = new OutOfTraffic(config.prestop, registration, log, () => app.state.phase === 'ready' || app.state.phase === 'notReady');
  app.onChange((state) => registration?.want(desiredFor(state.phase, traffic.draining)));
  let oomBaseline: number | undefined;
  app.onChange((state) => state.phase === 'starting' && state.pid === null && void oomKills().then((n) => (oomBaseline = n)));
  app.examine = (report) => examineScene({ config, report, output: app.tail.last(200), oomBaseline });
  const stop = stopOnce(app, traffic, log);
  handleSignals({ forward: (signal) => app.forward(signal), onStop: stop });
  const side = await startSideServices(config, log);
  const supervise = hasApp ? await superviseApp(config.runDir, app, log).catch((err) => void log.error({ err: errorText(err) }, 'runDir/service/app cannot be supervised')) : undefined;
  const control = await openControlSocket(
    config.runDir,
    {
      ping: () => ({ ok: true, pid: process.pid }),
      probe: () => ({ ok: true, ...(hasApp ? verdict(app.state, app.report, traffic.draining, Date.now()) : { ready: !traffic.draining, reason: traffic.draining ? 'not ready: draining' : 'ready: no app configured (services only)' }) }),
      status: () => statusOf(app, traffic.draining, side.list().map(serviceLine), registration?.status() ?? []),
      doctor: async () => {
        const report = app.state.phase === 'ready' ? null : app.report;
        return { ok: true, phase: app.state.phase, findings: await examineScene({ config, report, output: app.tail.last(200), oomBaseline }) };
      },
      prestop: async () => {
        await traffic.start();
        return { ok: true, done: true };
      },
    },
    log,
  );
  log.info({ pid: process.pid, project: config.project, type: config.type, runDir: config.runDir }, 'nile started');
  if (hasApp) app.boot();
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
    void traffic.start().then(() => app.shutdown(signal === 'INT' ? 'INT' : undefined));
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
