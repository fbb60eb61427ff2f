import { resolveUser } from '../app/user.js';
import { cannotSwitchUser } from '../privileges.js';
import type { Config } from './schema.js';

/**
 * What the config asks that nile's user cannot do, as config errors: `app.user` naming another user
 * for a nile without the privilege to switch (a Pod Security "restricted" pod runs it as its own user).
 */
export function privilegeErrors(config: Config, euid = process.geteuid?.() ?? 0, egid = process.getegid?.() ?? 0): string[] {
  if (!config.app.user) return [];
  const why = cannotSwitchUser(euid);
  if (!why) return []; // a nile that may switch users reads /etc/passwd only at the spawn
  let user: ReturnType<typeof resolveUser>;
  try {
    user = resolveUser(config.app.user);
  } catch {
    return []; // no such user: the start's own finding
  }
  if (user.uid === euid && user.gid === egid) return [];
  return [`app.user: "${config.app.user}" is uid ${user.uid} (gid ${user.gid}), but ${why}: it cannot start the app as another user; leave app.user out, or run nile as root`];
}
