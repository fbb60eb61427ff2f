import { existsSync } from 'node:fs';
import { readRegularFile } from '../fd.js';
import { isIP, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isMap, parseDocument, visit } from 'yaml';
import { defaultHeapDumpPath } from '../app/heap-dump.js';
import { redactorFor, secretPattern } from '../redact.js';
import { formatDuration, maxDurationMs, parseDuration } from './duration.js';
import { schema, type Config, type Spec } from './schema.js';

export const defaultConfigPath = '/etc/nile/nile.yaml';

export interface LoadOptions {
  file?: string; // --config
  env?: NodeJS.ProcessEnv;
  command?: string[]; // `nile -- CMD ARGS…`
}

export type LoadResult =
  | { ok: true; config: Config; file: string | null; ignored: string[] }
  | { ok: false; errors: string[]; file: string | null };

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

// Environment variables that are not config keys.
// NILE_INVOCATION_ID marks the processes an app started (src/app/leftovers.ts): a nile run inside it sees it.
// NILE_SIGNALS_FD is the front door's, until the agent's signal handlers are in (src/pid1/signals.ts).
const envNotKeys = new Set(['NILE_CONFIG', 'NILE_LOG_LEVEL', 'NILE_INVOCATION_ID', 'NILE_SIGNALS_FD']);
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

// Bounds that keep a hostile or broken file from costing more than a bad-config exit.
const maxFileBytes = 1024 * 1024;
const maxStringLength = 4096;
const maxAliasCount = 100;
// The project names the upstream and lands in DNS-bound places: one DNS label (RFC 1123).
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const hostName = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
// A newline in a value written into a generated file (sshd_config) would start a directive of its own.
const controlCharacter = /[\x00-\x1f\x7f]/;

/**
 * The variables Kubernetes injects for a Service named `nile` or `nile-*` in the namespace
 * (`NILE_SERVICE_HOST`, `NILE_X_SERVICE_PORT_HTTP`, `NILE_PORT_80_TCP_ADDR`…): not meant for nile.
 */
const serviceLink = /^NILE_(?:[A-Z0-9_]+_)?(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT|PORT_\d+_(?:TCP|UDP|SCTP)(?:_[A-Z]+)?)$/;

/** Reads the file, applies NILE_* overrides, validates everything at once, fills defaults. */
export function loadConfig(options: LoadOptions = {}): LoadResult {
  const env = options.env ?? process.env;
  const errors: string[] = [];
  const file = options.file ?? env.NILE_CONFIG ?? (existsSync(defaultConfigPath) ? defaultConfigPath : null);
  const doc = file ? readYaml(file, errors) : {};
  const unread = errors.length > 0; // then a missing project says nothing about the file
  const ignored = applyEnv(doc, env, errors);
  const level = env.NILE_LOG_LEVEL;
  if (level && !(logLevels as readonly string[]).includes(level)) errors.push(`NILE_LOG_LEVEL: must be one of ${logLevels.join(', ')}, got ${describe(level.slice(0, 40))}`);
  const config = validate(schema, doc, '', errors) as Config;
  if (!doc.project && !unread) errors.push('project: required (the project name; also the default upstream)');
  if (typeof config.project === 'string' && config.project && !dnsLabel.test(config.project))
    errors.push('project: must be a DNS label: at most 63 lower-case letters, digits and -, starting and ending with a letter or digit');
  (config.app?.secretPatterns ?? []).forEach((pattern, i) => {
    const compiled = secretPattern(pattern);
    if (typeof compiled === 'string') errors.push(`app.secretPatterns[${i}]: ${describe(pattern.slice(0, 80))} ${compiled}`);
  });
  if (errors.length === 0) finish(config, options.command, env);
  if (errors.length === 0) checkAddress(config, errors);
  return errors.length ? { ok: false, errors, file } : { ok: true, config, file, ignored };
}

function readYaml(file: string, errors: string[]): Doc {
  const text = readBounded(file, errors);
  if (text === null) return {};
  // yaml's own uniqueKeys check compares every key with every other: duplicates are found here instead.
  const parsed = parseDocument(text, { uniqueKeys: false });
  for (const e of parsed.errors) errors.push(`${file}: ${e.message.split('\n')[0]}`);
  if (parsed.errors.length) return {};
  for (const key of duplicateKeys(parsed)) errors.push(`${file}: map keys must be unique; "${key.slice(0, 80)}" is repeated`);
  let value: unknown;
  try {
    value = parsed.toJS({ maxAliasCount });
  } catch {
    errors.push(`${file}: YAML aliases expand too far (more than ${maxAliasCount} uses); write the values out`);
    return {};
  }
  if (value === null || value === undefined) return {};
  if (!isObject(value)) {
    errors.push(`${file}: the top level must be a mapping of keys`);
    return {};
  }
  return value;
}

// The file's text, from a regular file and never past the bound: a FIFO would block the read and a
// device such as /dev/zero never ends.
function readBounded(file: string, errors: string[]): string | null {
  try {
    const { text, over } = readRegularFile(file, maxFileBytes);
    if (over) return errors.push(`${file}: larger than 1 MiB; a nile.yaml is a few hundred lines`), null;
    return text;
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'ENOTREG') return errors.push(`${file}: cannot read: ${message}; the config is a file of a few hundred lines`), null;
    return errors.push(`${file}: cannot read: ${code ?? String(err)}`), null;
  }
}

/** Every leaf of the schema with its path, for environment names and printing. */
export function leaves(spec: Spec = schema, path: string[] = []): Array<{ path: string[]; spec: Spec }> {
  if (spec.t !== 'object') return [{ path, spec }];
  return Object.entries(spec.fields).flatMap(([key, child]) => leaves(child, [...path, key]));
}

const envName = (path: string[], split: boolean) =>
  'NILE_' + path.map((p) => (split ? p.replace(/([a-z])([A-Z])/g, '$1_$2') : p).toUpperCase()).join('_');

/** Every mapping key that appears twice in its mapping; one pass over the document. */
function duplicateKeys(doc: ReturnType<typeof parseDocument>): string[] {
  const repeated: string[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
        if (seen.has(key)) repeated.push(key);
        seen.add(key);
      }
    },
  });
  return repeated;
}

/** Sets the keys NILE_* variables name; returns the service-link variables it ignored. */
function applyEnv(doc: Doc, env: NodeJS.ProcessEnv, errors: string[]): string[] {
  const names = new Map<string, { path: string[]; spec: Spec }>();
  for (const leaf of leaves()) {
    names.set(envName(leaf.path, false), leaf);
    names.set(envName(leaf.path, true), leaf);
  }
  const mapLeaves = [...names.entries()].filter(([, l]) => l.spec.t === 'map');
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('NILE_') || envNotKeys.has(name) || value === undefined) continue;
    const leaf = names.get(name);
    if (leaf) {
      setPath(doc, leaf.path, fromEnv(leaf.spec, value));
      continue;
    }
    const mapLeaf = mapLeaves.find(([prefix]) => name.startsWith(prefix + '_'));
    if (mapLeaf) setPath(doc, [...mapLeaf[1].path, name.slice(mapLeaf[0].length + 1)], value);
    else if (serviceLink.test(name)) ignored.push(name);
    else errors.push(`${name}: no such config key`);
  }
  return ignored;
}

function fromEnv(spec: Spec, value: string): unknown {
  switch (spec.t) {
    case 'int':
      return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    case 'bool':
      return /^(true|1|yes)$/i.test(value) ? true : /^(false|0|no)$/i.test(value) ? false : value;
    case 'items':
      try {
        return JSON.parse(value);
      } catch {
        return value;
      }
    case 'list':
      if (value.trim().startsWith('[')) {
        try {
          return JSON.parse(value);
        } catch {
          return value;
        }
      }
      return value.split(/\s+/).filter(Boolean);
    default:
      return value;
  }
}

function setPath(doc: Doc, path: string[], value: unknown): void {
  let at = doc;
  for (const key of path.slice(0, -1)) {
    if (!isObject(at[key])) at[key] = {};
    at = at[key] as Doc;
  }
  at[path[path.length - 1]] = value;
}

// A bad value is shown, but not a whole mapping or a megabyte of it.
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function validate(spec: Spec, value: unknown, path: string, errors: string[]): unknown {
  const at = path || '(top level)';
  if (value === undefined || value === null) {
    if (spec.t === 'object') return validate(spec, {}, path, errors);
    if (spec.t === 'items') return [];
    return spec.def === undefined ? undefined : validate(spec, structuredClone(spec.def), path, errors);
  }
  switch (spec.t) {
    case 'object': {
      if (!isObject(value)) return errors.push(`${at}: must be a mapping, got ${describe(value)}`), undefined;
      for (const key of Object.keys(value)) if (!(key in spec.fields)) errors.push(`${path ? path + '.' : ''}${key}: unknown key`);
      return Object.fromEntries(Object.entries(spec.fields).map(([key, child]) => [key, validate(child, value[key], path ? `${path}.${key}` : key, errors)]));
    }
    case 'items': {
      if (!Array.isArray(value)) return errors.push(`${at}: must be a list of mappings, got ${describe(value)}`), undefined;
      const list = value.map((item, i) => validate({ t: 'object', fields: spec.fields }, item, `${path}[${i}]`, errors) as Doc | undefined);
      const seen = new Set<unknown>();
      list.forEach((item, i) => {
        if (!item) return;
        for (const [key, child] of Object.entries(spec.fields)) if (child.t === 'string' && child.def === undefined && !item[key]) errors.push(`${path}[${i}].${key}: required`);
        if (item.name && seen.has(item.name)) errors.push(`${path}[${i}].name: ${describe(item.name)} is used twice`);
        seen.add(item.name);
      });
      return list;
    }
    case 'percent': {
      const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*%$/.exec(value.trim()) : null;
      if (!m || Number(m[1]) <= 0 || Number(m[1]) > 100) return errors.push(`${at}: must be a share of the limit such as 90%, got ${describe(value)}`), undefined;
      return Number(m[1]) / 100;
    }
    case 'string':
      if (typeof value !== 'string') return errors.push(`${at}: must be a string, got ${describe(value)}`), undefined;
      if (value.length > maxStringLength) return errors.push(`${at}: longer than ${maxStringLength} characters`), undefined;
      if (!spec.lines && controlCharacter.test(value)) {
        const found = controlCharacter.exec(value)!;
        return errors.push(`${at}: must be one line without control characters, found ${describe(found[0])} at character ${found.index + 1}`), undefined;
      }
      if (spec.address && value && !isIP(value) && !hostName.test(value)) errors.push(`${at}: must be one IP address or host name, got ${describe(value)}`);
      if (spec.url && value && !/^https?:\/\/[^\s]+$/.test(value)) errors.push(`${at}: must be an http(s) URL, got ${describe(redactorFor(null).text(value))}`);
      if (spec.path && !/^\/\S*$/.test(value)) errors.push(`${at}: must be a path starting with /, got ${describe(value)}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return errors.push(`${at}: must be a whole number, got ${describe(value)}`), undefined;
      if (value < (spec.min ?? 0) || value > (spec.max ?? Infinity)) errors.push(`${at}: must be between ${spec.min} and ${spec.max}, got ${value}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') return errors.push(`${at}: must be true or false, got ${describe(value)}`), undefined;
      return value;
    case 'duration': {
      const ms = typeof value === 'string' ? parseDuration(value) : undefined;
      if (ms === undefined) return errors.push(`${at}: must be a duration such as 500ms, 10s or 5m, got ${describe(value)}`), undefined;
      if (ms > maxDurationMs) return errors.push(`${at}: at most ${formatDuration(maxDurationMs)}, got ${String(value).trim()}`), undefined;
      return ms;
    }
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) return errors.push(`${at}: must be one of ${spec.values.join(', ')}, got ${describe(value)}`), undefined;
      return value;
    case 'list':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' && typeof v !== 'number'))
        return errors.push(`${at}: must be a list of strings, got ${describe(value)}`), undefined;
      if (value.some((v) => String(v).length > maxStringLength)) return errors.push(`${at}: an item is longer than ${maxStringLength} characters`), undefined;
      return value.map(String);
    case 'map': {
      // The values are not repeated: app.env holds passwords.
      if (!isObject(value)) return errors.push(`${at}: must be a mapping of names to values, got ${Array.isArray(value) ? 'a list' : typeof value}`), undefined;
      const nested = Object.keys(value).filter((k) => typeof value[k] === 'object' && value[k] !== null);
      if (nested.length) return errors.push(...nested.map((k) => `${at}.${k}: must be a single value, not a list or mapping`)), undefined;
      const long = Object.keys(value).filter((k) => String(value[k] ?? '').length > maxStringLength);
      if (long.length) return errors.push(...long.map((k) => `${at}.${k}: longer than ${maxStringLength} characters`)), undefined;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v ?? '')]));
    }
  }
}

// Defaults that follow from other keys: the project type, the pod's address, the generated JVM command.
function finish(config: Config, command: string[] | undefined, env: NodeJS.ProcessEnv): void {
  const { probe, registry, app, type } = config;
  probe.http.enabled ??= type === 'web' || type === 'rpc';
  probe.tcp.enabled ??= type === 'rpc';
  registry.port ??= type === 'rpc' ? probe.tcp.port : probe.http.port;
  registry.upstream ||= config.project;
  registry.address ||= env.POD_IP || firstIPv4() || '127.0.0.1';
  app.heapDumpPath ||= defaultHeapDumpPath(config.runDir, app.user);
  // `app.command: []` says there is no app: nile only supervises the services (runsvdir's job).
  if (command?.length) app.command = command;
  else if (app.command === undefined) {
    // Neither command nor jar: jib's layout (entrypoint INHERIT, appRoot = workdir) where it is, else /app/app.jar.
    const jib = !app.jar && existsSync(`${app.workdir}/jib-main-class-file`);
    const main = jib ? ['-cp', `@${app.workdir}/jib-classpath-file`, `@${app.workdir}/jib-main-class-file`] : ['-jar', app.jar || '/app/app.jar'];
    app.command = ['java', '-XX:+HeapDumpOnOutOfMemoryError', `-XX:HeapDumpPath=${app.heapDumpPath}`, ...app.javaOpts, ...main, ...app.args];
  }
  if (!app.jar) app.jar = jarOf(app.command);
}

/**
 * The ZooKeeper and Consul KV layouts key the instance by `ip:port`, which nginx-upsync parses as
 * IPv4 only (`upsync_check_key: invalid ip`): an IPv6 instance would silently never get traffic.
 */
function checkAddress({ registry }: Config, errors: string[]): void {
  const keyedByIpPort = registry.zookeeper.connect || (registry.consul.url && registry.consul.mode === 'kv');
  if (keyedByIpPort && (isIPv6(registry.address) || registry.address.includes(':')))
    errors.push(`registry.address: ${registry.address} is IPv6; nginx-upsync reads ip:port keys as IPv4 only (set an IPv4 address, or use registry.consul.mode: service)`);
}

/** The jar a `java … -jar X` command runs, for the doctor. */
function jarOf(command: string[]): string {
  const i = command.indexOf('-jar');
  return i >= 0 && command[i + 1] ? command[i + 1] : '';
}

/**
 * runDir as nile keeps it (on a volume others may write, its private directory, src/run-dir-rule.cts): the heap
 * dump's default, worked out from the configured runDir, follows it, in app.heapDumpPath and the java command.
 */
export function settleRunDir(config: Config, dir: string): void {
  const { app } = config;
  const configured = defaultHeapDumpPath(config.runDir, app.user);
  if (app.heapDumpPath === configured) {
    app.heapDumpPath = defaultHeapDumpPath(dir, app.user);
    app.command = app.command.map((arg) => (arg === `-XX:HeapDumpPath=${configured}` ? `-XX:HeapDumpPath=${app.heapDumpPath}` : arg));
  }
  config.runDir = dir;
}

function firstIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

