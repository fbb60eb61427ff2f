import { readFileSync } from 'node:fs';

// Descriptors no endpoint may take: the control socket, the app's spawn (its pipes), the registry's connections and logs.
const reservedDescriptors = 128;

/**
 * A connection cap that leaves reservedDescriptors free under the process's open-file limit, shared by a few
 * endpoints. Apart from node:http, so the control socket's server does not load it.
 */
export function connectionCap(wanted: number, endpoints = 4): number {
  const limit = openFileLimit();
  return limit === undefined ? wanted : Math.max(1, Math.min(wanted, Math.floor((limit - reservedDescriptors) / endpoints)));
}

function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}
