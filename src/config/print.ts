import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import { leaves, redactUrl } from './load.js';
import type { Config, Spec } from './schema.js';

const secretName = /pass|secret|token|key|credential|auth/i;

/** The effective config as YAML, durations as strings, secrets blanked. */
export function printConfig(config: Config): string {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, spec } of leaves()) {
    const parent = path.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, copy);
    const key = path[path.length - 1];
    parent[key] = printable(spec, parent[key]);
  }
  return stringify(copy);
}

function printable(spec: Spec, value: unknown): unknown {
  if (spec.t === 'duration' && typeof value === 'number') return formatDuration(value);
  if (spec.t === 'percent' && typeof value === 'number') return `${Math.round(value * 1000) / 10}%`;
  if (spec.t === 'string' && spec.url && typeof value === 'string') return redactUrl(value);
  if (spec.t === 'map' && value) {
    return Object.fromEntries(Object.entries(value as Record<string, string>).map(([k, v]) => [k, secretName.test(k) ? '[redacted]' : v]));
  }
  if (spec.t === 'items' && Array.isArray(value)) {
    return value.map((item: Record<string, unknown>) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, printable(spec.fields[k]!, v)])));
  }
  return value;
}
