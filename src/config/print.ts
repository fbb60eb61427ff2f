import { stringify } from 'yaml';
import { redactorFor } from '../redact.js';
import { formatDuration } from './duration.js';
import { leaves } from './load.js';
import type { Config } from './schema.js';

/** The effective config as YAML, durations as strings, secrets redacted. */
export function printConfig(config: Config): string {
  const redact = redactorFor(config);
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, spec } of leaves()) {
    const parent = path.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, copy);
    const key = path[path.length - 1];
    const value = parent[key];
    if (spec.t === 'duration' && typeof value === 'number') parent[key] = formatDuration(value);
    if (spec.t === 'map' && value) parent[key] = redact.env(value as Record<string, string>);
    else if (value !== undefined) parent[key] = redact.value(parent[key]);
  }
  return stringify(copy);
}
