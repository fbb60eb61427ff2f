import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import type { ServicesHandle } from '../runit/scan.js';
import type { ServiceInfo } from '../runit/service.js';
import type { SshdHandle } from '../sshd/sshd.js';
import { sshdCannotRun, sshdNeeds } from '../privileges.js';

/** What runs beside the app: sshd and the runit service directories. They stay up when the app fails. */
export interface SideServices {
  list(): ServiceInfo[];
  stop(): Promise<void>;
}

/** A service the config asks for that cannot run here: listed down, with why (`nile status`, `nile doctor`). */
export type NotStarted = ServiceInfo & { note: string };
const notStarted = (name: string, note: string, since: number): NotStarted => ({ name, pid: 0, state: 'down', want: 'down', since, paused: false, gotTerm: false, note });

/** sshd and the runit scanner are loaded only when the config uses them. */
export async function startSideServices(config: Config, log: Log, startedAt = Date.now()): Promise<SideServices> {
  let sshd: SshdHandle | null = null;
  const cannot = config.sshd.enabled ? sshdCannotRun() : null;
  if (cannot) log.warn({ needs: sshdNeeds }, `sshd not started: ${cannot}`);
  if (config.sshd.enabled && !cannot) {
    try {
      const { startSshd } = await import('../sshd/sshd.js');
      sshd = await startSshd({ runDir: config.runDir, port: config.sshd.port, listen: config.sshd.listen, authorizedKeysFile: config.sshd.authorizedKeysFile, log });
    } catch (err) {
      log.error({ err: errorText(err) }, 'sshd could not be started; going on without it');
    }
  }
  const services: ServicesHandle | null = existsSync(config.services) ? (await import('../runit/scan.js')).startServices({ dir: config.services, log }) : null;
  return {
    list: () => [...(sshd ? [sshd.status()] : []), ...(cannot ? [notStarted('sshd', cannot, startedAt)] : []), ...(services?.list() ?? [])],
    stop: async () => {
      await Promise.all([sshd?.stop(), services?.stop()]);
    },
  };
}
