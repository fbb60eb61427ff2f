import { chmodSync, lchownSync, lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { resolveUser } from './user.js';

/**
 * Where the JVM writes its heap dump by default (`-XX:HeapDumpPath`): in runDir, or, for an app run as
 * `app.user` (who cannot enter runDir, 0700), in a folder of that user's beside it. One file: the JVM
 * never overwrites it, so the first dump is kept and a crash loop cannot fill the disk.
 */
export function defaultHeapDumpPath(runDir: string, user: string): string {
  return user ? `${runDir}-heapdumps/heapdump.hprof` : path.join(runDir, 'heapdump.hprof');
}

/**
 * Before each start as `app.user`: the default heap dump folder is made that user's own (0700), as
 * root; an existing one must be a directory, not a symlink planted in its place.
 */
export function prepareHeapDumpDir({ app, runDir }: Pick<Config, 'app' | 'runDir'>, log: Log): void {
  if (!app.user || app.heapDumpPath !== defaultHeapDumpPath(runDir, app.user)) return;
  const dir = path.dirname(app.heapDumpPath);
  try {
    const { uid, gid } = resolveUser(app.user);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!lstatSync(dir).isDirectory()) throw new Error('not a directory');
    lchownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  } catch (err) {
    log.warn({ dir, err: errorText(err) }, 'the heap dump folder cannot be made for app.user: a heap dump would fail');
  }
}
