// runit's error_str(): `sv` names errors in its own words, and nile's `sv` prints the same lines.
const words: Record<string, string> = {
  EINTR: 'interrupted system call',
  ENOMEM: 'out of memory',
  ENOENT: 'file does not exist',
  ETXTBSY: 'text busy',
  EIO: 'input/output error',
  EEXIST: 'file already exists',
  ETIMEDOUT: 'timed out',
  EAGAIN: 'temporary failure',
  EPIPE: 'broken pipe',
  EPERM: 'permission denied',
  EACCES: 'access denied',
  ENXIO: 'device not configured',
  EISDIR: 'is a directory',
  ECONNREFUSED: 'connection refused',
  ENOTDIR: 'not a directory',
  ESRCH: 'no such process',
  ELOOP: 'symbolic link loop',
  ENAMETOOLONG: 'file name too long',
};

export function errorWords(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return words[code] ?? (code || (err as Error).message);
}
