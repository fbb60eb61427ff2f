import path from 'node:path';
import { shownWant, type AppState } from '../app/machine.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Log } from '../log.js';
import { SuperviseDir } from '../runit/supervise.js';
import type { SuperviseStatus } from '../runit/status.js';
import type { Traffic } from '../traffic/traffic.js';

/**
 * The app as runsv would publish it, so `sv status app` and `nile sv` read and drive it. A halted
 * app (failed, or down after a crash) will not be started by nile: that is "want down" to sv, which
 * is also what lets `sv up app` through (sv sends nothing when the want already matches).
 */
export function superviseStatusOf(state: AppState, outOfTraffic = false): SuperviseStatus {
  const halted = state.phase === 'failed' || state.phase === 'down';
  return {
    pid: state.pid ?? 0,
    state: state.pid !== null ? 'run' : 'down',
    // Drained by a prestop, the app is not wanted in service: `sv up app` then sends its `u` (resume).
    want: halted || outOfTraffic ? 'down' : shownWant(state),
    paused: state.paused,
    gotTerm: state.gotTerm,
    since: state.changedAt,
  };
}

/** Opens runDir/service/app/supervise and binds it to the app: control letters in (through `control`), status out. */
export async function superviseApp(runDir: string, app: AppSupervisor, traffic: Traffic, log: Log, control: (letter: string) => void): Promise<SuperviseDir> {
  const draining = () => traffic.state.draining !== null;
  const initial = superviseStatusOf(app.state, draining());
  const dir = await SuperviseDir.open(path.join(runDir, 'service', 'app'), log, initial);
  dir.onControl(control);
  // Written when it changes, as runsv does: a probe result alone changes nothing sv can see.
  let last = JSON.stringify(initial);
  const publish = (state: AppState) => {
    const status = superviseStatusOf(state, draining());
    const text = JSON.stringify(status);
    if (text !== last) dir.write(status);
    last = text;
  };
  app.onChange(publish);
  traffic.onChange(() => publish(app.state));
  publish(app.state); // the app runs while the directory is being opened: it may have moved on
  return dir;
}
