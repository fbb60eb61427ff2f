import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Log } from '../log.js';
import { RunitService, type ServiceInfo } from '../runit/service.js';
import { writeOwnFile } from '../run-dir.js';
import { sshdConfig } from './config.js';
import { hostKeys } from './keys.js';

export interface SshdOptions {
  runDir: string;
  port: number;
  authorizedKeysFile: string;
  listen?: string;
  log: Log;
  systemKeysDir?: string; // where the image keeps its host keys: /etc/ssh
  sshd?: string; // sshd must be started by its absolute path (it re-executes itself)
}

export interface SshdHandle {
  /** TERM sshd (its sessions keep running until they end), KILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  status(): ServiceInfo;
}

// Where OpenSSH on Debian and Alpine looks for its privilege separation directory.
const privsepDir = '/run/sshd';
const defaultStopTimeoutMs = 5000;

/**
 * sshd in the foreground as a runit-style service at runDir/service/sshd: restarted whenever it
 * ends, and driven with `nile sv … sshd` or runit's own `sv`.
 */
export async function startSshd(options: SshdOptions): Promise<SshdHandle> {
  const ownDir = path.join(options.runDir, 'ssh');
  mkdirSync(ownDir, { recursive: true, mode: 0o700 });
  mkdirSync(privsepDir, { recursive: true, mode: 0o755 });
  const keys = await hostKeys(options.systemKeysDir ?? '/etc/ssh', ownDir, options.log);
  const config = path.join(ownDir, 'sshd_config');
  writeOwnFile(config, sshdConfig({ port: options.port, listen: options.listen, authorizedKeysFile: options.authorizedKeysFile, hostKeys: keys }));
  const service = await RunitService.start(path.join(options.runDir, 'service', 'sshd'), options.log, { name: 'sshd', run: [options.sshd ?? '/usr/sbin/sshd', '-D', '-e', '-f', config] });
  options.log.info({ port: options.port, listen: options.listen }, 'sshd supervised');
  return {
    stop: (timeoutMs = defaultStopTimeoutMs) => service.stop(timeoutMs),
    status: () => service.list()[0],
  };
}
