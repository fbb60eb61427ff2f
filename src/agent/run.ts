import { mkdirSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { AppSupervisor } from '../app/supervisor.js';
import { takePid1Duties } from '../pid1/duties.js';
import { handleSignals } from '../pid1/signals.js';
import { proberFor, type Prober } from '../probe/prober.js';
import { registryConfigured } from '../registry/backend.js';
import type { Reconciler } from '../registry/reconciler.js';
import { watchScene } from './scene.js';
import { OutOfTraffic } from './traffic.js';

/**
 * PID 1, the story in one screen: take the duties, start the app, then bring up beside it what
 * answers for it (control socket, supervise directory), the registry clients the config names, sshd
 * and the runit services; wait; stop the rest. Only the first part is loaded before the app starts.
 */
export async function runAgent(config: Config, log: Log): Promise<number> {
  const duties = takePid1Duties(log);
  const hasApp = config.app.command.length > 0; // `app.command: []`: services only, as runsvdir
  const app = new AppSupervisor(config, log, proberWhenLoaded(config.probe));
  const scene = watchScene(config, app);
  // null: no registry configured; undefined until its clients are loaded (not ready till then).
  const held: { registration: Reconciler | null | undefined } = { registration: registryConfigured(config) ? undefined : null };
  const traffic = new OutOfTraffic(config.prestop, () => held.registration ?? null, log, () => app.state.phase === 'ready' || app.state.phase === 'notReady');
  handleSignals({ forward: (signal) => app.forward(signal), onStop: stopOnce(app, traffic, log) });
  mkdirSync(config.runDir, { recursive: true, mode: 0o755 }); // a failure report may be written at once
  if (hasApp) app.boot();
  const { bringUpBeside } = await import('./beside.js');
  const beside = await bringUpBeside(config, log, { app, hasApp, traffic, scene, held });
  log.info({ pid: process.pid, project: config.project, type: config.type, runDir: config.runDir }, 'nile started');
  const code = await app.exited;
  await beside.close();
  duties.stop();
  log.info({ code }, 'nile exiting with the app status');
  return code;
}

// The probe's first run is an interval after the spawn: its client loads meanwhile.
function proberWhenLoaded(probe: Config['probe']): Prober {
  const loading = proberFor(probe);
  return async () => (await loading)();
}

// SIGTERM (or INT): out of traffic first unless a prestop already did it, then stop the app.
function stopOnce(app: AppSupervisor, traffic: OutOfTraffic, log: Log) {
  let stopping = false;
  return (signal: 'TERM' | 'INT') => {
    if (stopping) return log.info({ signal }, 'already stopping');
    stopping = true;
    log.info({ signal }, 'stop requested');
    traffic.cutShort();
    void traffic.start().then(() => app.shutdown(signal === 'INT' ? 'INT' : undefined));
  };
}
