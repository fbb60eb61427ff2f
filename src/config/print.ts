import { stringify } from 'yaml';
import { redactorFor, type Redactor } from '../redact.js';
import { formatDuration } from './duration.js';
import { leaves } from './load.js';
import type { Config, Spec } from './schema.js';

/** The effective config as YAML, durations as strings, secrets redacted. */
export function printConfig(config: Config): string {
  const redact = redactorFor(config);
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, spec } of leaves()) {
    const parent = path.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, copy);
    const key = path[path.length - 1];
    parent[key] = printable(spec, parent[key], redact);
  }
  return stringify(copy);
}

function printable(spec: Spec, value: unknown, redact: Redactor): unknown {
  if (spec.t === 'duration' && typeof value === 'number') return formatDuration(value);
  if (spec.t === 'percent' && typeof value === 'number') return `${Math.round(value * 1000) / 10}%`;
  if (spec.t === 'map' && value) return redact.env(value as Record<string, string>);
  if (spec.t === 'items' && Array.isArray(value)) {
    return value.map((item: Record<string, unknown>) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, printable(spec.fields[k]!, v, redact)])));
  }
  return value === undefined ? value : redact.value(value);
}
