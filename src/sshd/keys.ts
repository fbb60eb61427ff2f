import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Log } from '../log.js';

const execFileAsync = promisify(execFile);
const imageKeyTypes = ['ed25519', 'ecdsa', 'rsa'];
const generatedKeyTypes = ['ed25519', 'rsa'];

/**
 * The host keys sshd should use: the image's own in `systemDir` when it has any, so the host
 * identity is the one operators know; else keys nile generates once into `ownDir`.
 */
export async function hostKeys(systemDir: string, ownDir: string, log: Log): Promise<string[]> {
  const imageKeys = imageKeyTypes.map((type) => keyFile(systemDir, type)).filter(readable);
  if (imageKeys.length > 0) return imageKeys;
  const keys: string[] = [];
  for (const type of generatedKeyTypes) {
    const file = keyFile(ownDir, type);
    if (!readable(file)) {
      log.info({ file }, 'generating ssh host key');
      await execFileAsync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', file]);
    }
    keys.push(file);
  }
  return keys;
}

function keyFile(dir: string, type: string): string {
  return path.join(dir, `ssh_host_${type}_key`);
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
