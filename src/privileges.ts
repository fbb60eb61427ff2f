// What nile may do as the user it runs as. A Pod Security "restricted" pod runs it as a user of its
// own with no capabilities: then sshd cannot run and the app cannot be started as another user;
// each says which privilege it lacks instead of failing further on.
import { readFileSync } from 'node:fs';

// Bit numbers from linux/capability.h.
const bits = { CAP_SETGID: 6, CAP_SETUID: 7, CAP_SYS_CHROOT: 18 } as const;
type Capability = keyof typeof bits;

/** sshd drops privileges per login and chroots its unprivileged child: it needs root with these. */
export const sshdNeeds: Capability[] = ['CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_CHROOT'];
/** Starting the app as `app.user` sets its uid and gid. */
const switchUserNeeds: Capability[] = ['CAP_SETUID', 'CAP_SETGID'];

/** The capabilities of `needs` nile's effective set lacks (from /proc/self/status). */
function missingCapabilities(needs: Capability[], status = readFileSync('/proc/self/status', 'utf8')): Capability[] {
  const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
  return needs.filter((cap) => !((effective >> BigInt(bits[cap])) & 1n));
}

const listed = (caps: string[]) => (caps.length > 1 ? `${caps.slice(0, -1).join(', ')} and ${caps[caps.length - 1]}` : caps[0]);

/** Why sshd cannot run here, naming the privilege; null when it can. */
export function sshdCannotRun(euid = process.geteuid?.() ?? 0, status?: string): string | null {
  const missing = missingCapabilities(sshdNeeds, status);
  if (euid === 0 && missing.length === 0) return null;
  const lacks = euid === 0 ? `nile runs as root without ${listed(missing)}` : `nile runs as uid ${euid}`;
  return `sshd needs root with ${listed(sshdNeeds)}; ${lacks}`;
}

/** Why the app cannot be started as another user here, naming the privilege; null when it can. */
export function cannotSwitchUser(euid = process.geteuid?.() ?? 0, status?: string): string | null {
  const missing = missingCapabilities(switchUserNeeds, status);
  return missing.length ? `nile runs as uid ${euid} without ${listed(missing)}` : null;
}
