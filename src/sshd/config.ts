// The sshd_config nile writes: keys only, as root at most without a password, no PAM in a container.

export interface SshdSettings {
  port: number;
  listen?: string; // an address; all addresses when absent
  authorizedKeysFile: string;
  hostKeys: string[];
}

export function sshdConfig(settings: SshdSettings): string {
  const lines = [
    '# Written by nile at every start: set sshd.* in nile.yaml instead of editing this file.',
    `Port ${settings.port}`,
    ...(settings.listen ? [`ListenAddress ${settings.listen}`] : []),
    ...settings.hostKeys.map((key) => `HostKey ${key}`),
    `AuthorizedKeysFile ${settings.authorizedKeysFile}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    // nile supervises sshd in the foreground: no pid file to go stale.
    'PidFile none',
    // scp and sftp, for taking heap and thread dumps out of the container.
    'Subsystem sftp internal-sftp',
  ];
  return `${lines.join('\n')}\n`;
}
