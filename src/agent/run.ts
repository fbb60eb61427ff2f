import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { AppSupervisor } from '../app/supervisor.js';
import { offlineCalls } from '../calls/offline.js';
import { Serving } from '../calls/serving.js';
import { takePid1Duties } from '../pid1/duties.js';
import { handleSignals } from '../pid1/signals.js';
import { showStateInTitle } from '../pid1/title.js';
import { OutOfTraffic } from '../prestop/out-of-traffic.js';
import { proberFor, type Prober, type ProbeObserver } from '../probe/prober.js';
import { registryConfigured } from '../registry/backend.js';
import { keepRecord } from '../record/keeper.js';
import { previousContainer } from '../record/boot.js';
import { Traffic } from '../traffic/traffic.js';
import type { Held } from './held.js';
import { watchScene } from './scene.js';

/**
 * PID 1, the story in one screen: take the duties, start the app (or hold it back when the previous
 * container was killed while it started; the record in runDir says), then bring up beside it what
 * answers for it (control socket, supervise directory), the registry clients the config names, sshd
 * and the runit services, the memory watch and the metrics; wait; stop the rest. Only the first part
 * is loaded before the app starts.
 */
export async function runAgent(config: Config, log: Log): Promise<number> {
  const duties = takePid1Duties(log);
  const hasApp = config.app.command.length > 0; // `app.command: []`: services only, as runsvdir
  const held: Held = { registration: { state: registryConfigured(config) ? 'loading' : 'none' }, side: null, memory: null, metrics: null };
  const app = new AppSupervisor(config, log, proberWhenLoaded(config.probe, (kind, ok, ms) => held.metrics?.probed(kind, ok, ms)));
  const start = hasApp ? previousContainer(config.runDir, log) : { hold: false as const, previous: null };
  const record = keepRecord(config, app, log, start.hold ? start.previous.evidence : null);
  const scene = watchScene(config, app, () => held.memory?.readings ?? [], start.previous);
  // The traffic follows the app: the online calls when it becomes ready, before it is registered; the offline calls when it leaves.
  const traffic = new Traffic({ onlineCalls: config.online.length > 0, offlineCalls: offlineCalls(config).length > 0 }, held.registration.state, log);
  const serving = new Serving(config, log, traffic);
  const out = new OutOfTraffic(config.prestop, () => (held.registration.state === 'ready' ? held.registration.reconciler : null), log, traffic, serving);
  traffic.onEffect((effect) => effect.type === 'letter' && app.control(effect.letter));
  traffic.follow(app);
  handleSignals({ forward: (signal) => app.forward(signal), onStop: stopOnce(app, out, log) });
  showStateInTitle(app);
  if (start.hold) app.holdBack(start.reason, start.previous.evidence.output);
  else if (hasApp) app.boot();
  await nextTurn(); // import() reads and compiles in the call: the spawn, a microtask away, goes first
  const { bringUpBeside } = await import('./beside.js');
  const beside = await bringUpBeside(config, log, { app, hasApp, traffic, out, scene, serving, held, record, previous: start.previous });
  log.info({ pid: process.pid, project: config.project, type: config.type, runDir: config.runDir }, 'nile started');
  const code = await app.exited;
  await traffic.until((s) => s.offline !== 'calling'); // an app that ended by itself (restart: never) leaves traffic before nile goes
  await beside.close();
  record.ended(code);
  duties.stop();
  log.info({ code }, 'nile exiting with the app status');
  return code;
}

// The probe's first run is an interval after the spawn: its client loads meanwhile.
function proberWhenLoaded(probe: Config['probe'], timed: ProbeObserver): Prober {
  const loading = proberFor(probe, undefined, timed);
  return async () => (await loading)();
}

// SIGTERM (or INT): out of traffic first unless a prestop already did it, then stop the app.
function stopOnce(app: AppSupervisor, out: OutOfTraffic, log: Log) {
  let stopping = false;
  return (signal: 'TERM' | 'INT') => {
    if (stopping) return log.info({ signal }, 'already stopping');
    stopping = true;
    log.info({ signal }, 'stop requested');
    void out.start(`SIG${signal}`).then(() => app.shutdown(signal === 'INT' ? 'INT' : undefined));
  };
}
