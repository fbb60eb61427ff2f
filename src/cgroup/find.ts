import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The directory of a process's memory cgroup and which cgroup version it is. */
export interface MemoryCgroup {
  version: 1 | 2;
  dir: string;
}

interface CgroupMount {
  root: string; // the cgroup path mounted at mountPoint ("/" unless a container sees only its own)
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/**
 * Finds the memory cgroup of `pid` (this process by default) from /proc/<pid>/cgroup and mountinfo,
 * read at once: a few small /proc files, so the OOM kill count can be taken in the same
 * tick as the app's spawn (a JVM over its limit can be killed before an asynchronous read ends).
 */
export function findMemoryCgroup(pid: number | 'self' = 'self', proc = '/proc'): MemoryCgroup | undefined {
  let memberships, mounts;
  try {
    memberships = parseProcCgroup(readFileSync(path.join(proc, String(pid), 'cgroup'), 'utf8'));
    mounts = parseMountInfo(readFileSync(path.join(proc, String(pid), 'mountinfo'), 'utf8'));
  } catch {
    return undefined;
  }
  const v1 = memberships.find((m) => m.controllers.includes('memory'));
  const v1Mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 && v1Mount) return { version: 1, dir: resolveDir(v1Mount, v1.path) };
  const v2 = memberships.find((m) => m.id === '0' && m.controllers.length === 0);
  const v2Mount = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2 && v2Mount) {
    const dir = resolveDir(v2Mount, v2.path);
    // In a hybrid setup the unified tree may lack the memory controller.
    if (existsSync(path.join(dir, 'memory.events'))) return { version: 2, dir };
  }
  return undefined;
}

/** The memory cgroup at `dir` when given, else this process's own. */
export function memoryCgroup(dir?: string): MemoryCgroup | undefined {
  return dir ? memoryCgroupAt(dir) : findMemoryCgroup();
}

export function memoryCgroupAt(dir: string): MemoryCgroup | undefined {
  if (existsSync(path.join(dir, 'memory.events'))) return { version: 2, dir };
  if (existsSync(path.join(dir, 'memory.oom_control'))) return { version: 1, dir };
  return undefined;
}

function parseProcCgroup(text: string): { id: string; controllers: string[]; path: string }[] {
  return text
    .split('\n')
    .map((line) => /^(\d+):([^:]*):(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => Boolean(m))
    .map((m) => ({ id: m[1]!, controllers: m[2] ? m[2].split(',') : [], path: m[3]! }));
}

function parseMountInfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions] = right.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    mounts.push({ root: unescape(fields[3]!), mountPoint: unescape(fields[4]!), fsType, superOptions: (superOptions ?? '').split(',') });
  }
  return mounts;
}

// mountinfo writes spaces and the like as octal escapes (\040).
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

// A container may see its own cgroup mounted as the root while /proc says the full path.
function resolveDir(mount: CgroupMount, cgroupPath: string): string {
  const relative = mount.root !== '/' && cgroupPath.startsWith(mount.root) ? cgroupPath.slice(mount.root.length) : cgroupPath;
  const dir = path.resolve(mount.mountPoint, `.${relative}`); // "/" is the mount point itself, without a trailing slash
  return existsSync(dir) ? dir : mount.mountPoint;
}
