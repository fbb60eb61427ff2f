// The sshd_config nile writes: keys only, as root at most without a password, no PAM in a container.

export interface SshdSettings {
  port: number;
  listen?: string; // an address; all addresses when absent
  authorizedKeysFile: string;
  hostKeys: string[];
}

// A newline or carriage return in a value would end its line and start a directive of its own.
const controlCharacter = /[\x00-\x1f\x7f]/;

/** `Keyword value`, refused when the value could carry a second line. */
function directive(keyword: string, value: string | number): string {
  if (controlCharacter.test(String(value))) throw new Error(`sshd_config: ${keyword} ${JSON.stringify(String(value)).slice(0, 80)} holds a control character; not written`);
  return `${keyword} ${value}`;
}

/** The whole file; throws rather than write a value with a control character in it. */
export function sshdConfig(settings: SshdSettings): string {
  const lines = [
    '# Written by nile at every start: set sshd.* in nile.yaml instead of editing this file.',
    directive('Port', settings.port),
    ...(settings.listen ? [directive('ListenAddress', settings.listen)] : []),
    ...settings.hostKeys.map((key) => directive('HostKey', key)),
    directive('AuthorizedKeysFile', settings.authorizedKeysFile),
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
