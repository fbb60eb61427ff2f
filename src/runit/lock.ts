import { spawn } from 'node:child_process';

export type LockResult = 'locked' | 'busy' | 'unsupported';

/**
 * Takes the exclusive flock(2) runsv takes on supervise/lock, through flock(1) since Node has no
 * flock(): the lock belongs to the open file description, so it stays held by our descriptor
 * after flock(1) exits, and goes when nile closes it or dies.
 */
export function lockExclusive(fd: number): Promise<LockResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['-xn', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve('unsupported') : reject(err)));
    child.on('close', (code) => {
      if (code === 0) resolve('locked');
      else if (code === 1) resolve('busy');
      else reject(new Error(`flock failed (${code}): ${stderr.trim()}`));
    });
  });
}
