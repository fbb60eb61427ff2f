import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import { leaves, redactUrl } from './load.js';
import type { Config } from './schema.js';

const secretName = /pass|secret|token|key|credential|auth/i;

/** The effective config as YAML, durations as strings, secrets blanked. */
export function printConfig(config: Config): string {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, spec } of leaves()) {
    const parent = path.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, copy);
    const key = path[path.length - 1];
    const value = parent[key];
    if (spec.t === 'duration' && typeof value === 'number') parent[key] = formatDuration(value);
    if (spec.t === 'string' && spec.url && typeof value === 'string') parent[key] = redactUrl(value);
    if (spec.t === 'map' && value) {
      parent[key] = Object.fromEntries(Object.entries(value as Record<string, string>).map(([k, v]) => [k, secretName.test(k) ? '[redacted]' : v]));
    }
  }
  return stringify(copy);
}
