// A cgroup v1 memory controller directory for a test's pod, made and removed by the test.

import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './wait.js';

/** A new memory cgroup named `name-<pid>`, or why the test cannot make one here (its skip reason). */
export async function memoryCgroup(name: string): Promise<{ dir: string; skip: string | false }> {
  const dir = path.join('/sys/fs/cgroup/memory', `${name}-${process.pid}`);
  const skip = await mkdir(dir).then(
    () => false as const,
    (err: Error) => `the cgroup v1 memory controller is not writable here (${err.message})`,
  );
  return { dir, skip };
}

/** Removes the cgroup once its last task is gone (tried for 5 s). */
export async function removeCgroup(dir: string): Promise<void> {
  await waitFor(`${dir} removed`, () => rmdir(dir).then(() => true, () => false), 5000).catch(() => undefined);
}
