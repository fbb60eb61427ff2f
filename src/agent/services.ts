import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Log } from '../log.js';
import { errorText } from '../errors.js';
import type { ServicesHandle } from '../runit/scan.js';
import type { ServiceInfo } from '../runit/service.js';
import type { SshdHandle } from '../sshd/sshd.js';

/** What runs beside the app: sshd and the runit service directories. They stay up when the app fails. */
export interface SideServices {
  list(): ServiceInfo[];
  stop(): Promise<void>;
}

/** sshd and the runit scanner are loaded only when the config uses them. */
export async function startSideServices(config: Config, log: Log): Promise<SideServices> {
  let sshd: SshdHandle | null = null;
  if (config.sshd.enabled) {
    try {
      const { startSshd } = await import('../sshd/sshd.js');
      sshd = await startSshd({ runDir: config.runDir, port: config.sshd.port, listen: config.sshd.listen, authorizedKeysFile: config.sshd.authorizedKeysFile, log });
    } catch (err) {
      log.error({ err: errorText(err) }, 'sshd could not be started; going on without it');
    }
  }
  const services: ServicesHandle | null = existsSync(config.services) ? (await import('../runit/scan.js')).startServices({ dir: config.services, log }) : null;
  return {
    list: () => [...(sshd ? [sshd.status()] : []), ...(services?.list() ?? [])],
    stop: async () => {
      await Promise.all([sshd?.stop(), services?.stop()]);
    },
  };
}
