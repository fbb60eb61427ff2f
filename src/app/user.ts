import { readFileSync } from 'node:fs';

/** `app.user`: a name from /etc/passwd, or `uid[:gid]`. */
export function resolveUser(spec: string): { uid: number; gid: number; home?: string } {
  const numeric = spec.match(/^(\d+)(?::(\d+))?$/);
  if (numeric) {
    const uid = Number(numeric[1]);
    const entry = passwd().find((e) => e.uid === uid);
    return { uid, gid: numeric[2] !== undefined ? Number(numeric[2]) : entry?.gid ?? uid, home: entry?.home };
  }
  const [name, group] = spec.split(':');
  const entry = passwd().find((e) => e.name === name);
  if (!entry) throw new Error(`app.user: no user named "${name}" in /etc/passwd`);
  return { uid: entry.uid, gid: group !== undefined ? groupId(group) : entry.gid, home: entry.home };
}

function passwd(): Array<{ name: string; uid: number; gid: number; home: string }> {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':'))
    .map(([name, , uid, gid, , home]) => ({ name, uid: Number(uid), gid: Number(gid), home }));
}

function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(group + ':'));
  if (!line) throw new Error(`app.user: no group named "${group}" in /etc/group`);
  return Number(line.split(':')[2]);
}
