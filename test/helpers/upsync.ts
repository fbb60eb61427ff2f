// The consumer's view: what nginx with upsync would hold for one upstream, read from the registry the way upsync reads
// it (Consul KV and health with blocking queries, ZooKeeper by polling), kept as a timeline of what it served when;
// and the check that a pod being deleted leaves nginx before its app is stopped.
// As the real nginx-upsync-module: an answer that is not 200 (Consul's 404 for an empty prefix included) keeps what
// nginx holds; an upstream's last server is never deleted (an answer with no server keeps the held ones); the next
// request goes out upsync_interval + random(0–999 ms) after each answer.

import path from 'node:path';
import type { Test } from 'tap';
import type { ZkClient, ZkException } from '../../src/registry/zookeeper-client.js';
import { ask, closeClient, errorCode, plainClient, zkLibrary } from './zookeeper-library.js';
import type { Kubelet } from './kubelet.js';
import { Changes, waitFor } from './wait.js';

/** One `server` line of the upstream, as upsync builds it. */
export interface Server {
  address: string; // ip:port
  weight: number;
  maxFails: number;
  failTimeout: number; // seconds
  down: boolean; // held, but nginx sends it nothing
  backup: boolean;
}

/** One answer of the registry. The registry held this list at some moment between requestedAt and at. */
export interface Sample {
  requestedAt: number;
  at: number; // nginx holds this list from now until the next sample
  servers: Server[];
}

/** One read of the upstream: the list, or a throw (nginx then keeps what it holds). */
export type ReadList = (signal: AbortSignal) => Promise<Server[]>;

export interface Source {
  name: string;
  read: ReadList;
  /** upsync_interval: the pause after each answer, before upsync's random 0–999 ms. */
  intervalMs: number;
  close?: () => Promise<void>;
}

const defaults = { weight: 1, maxFails: 2, failTimeout: 10, down: false, backup: false };

/** upsync_interval in the tests' nginx: short, so a test waits less for its reads (the default is 5 s, the README's example 500 ms). */
export const upsyncIntervalMs = 100;
/** upsync's random part of the pause after each answer (0–999 ms). */
const jitterMs = 1000;
/** The longest a change in the registry waits before nginx asks again: what a prestop's wait must exceed. */
export const upsyncLagMs = upsyncIntervalMs + jitterMs;

/** upsync's pause after an answer: upsync_interval and a random 0–999 ms (`random` as Math.random's). */
export function pauseAfterAnswer(intervalMs: number, random = Math.random()): number {
  return intervalMs + Math.floor(random * jitterMs);
}

/** What nginx holds after an answer: the answer, except that the last server of an upstream is never deleted. */
export function applyAnswer(held: Server[], answer: Server[]): Server[] {
  return answer.length === 0 ? held : answer;
}

/** Reads a source in a loop and keeps every answer; safe to stop twice. */
export class UpsyncReader {
  readonly samples: Sample[] = [];
  readonly errors: { at: number; message: string }[] = [];
  private readonly abort = new AbortController();
  private readonly changes = new Changes();
  private readonly loop: Promise<void>;

  constructor(private readonly source: Source) {
    this.loop = this.run();
  }

  get name(): string {
    return this.source.name;
  }

  /** The list nginx holds at time t (the last answer by then); empty before the first. */
  heldAt(t: number): Server[] {
    let held: Server[] = [];
    for (const sample of this.samples) {
      if (sample.at > t) break;
      held = sample.servers;
    }
    return held;
  }

  /** The first answer from `after` on whose list satisfies `check`. */
  waitFor(what: string, check: (servers: Server[]) => boolean, timeoutMs: number, after = 0): Promise<Sample> {
    const found = () => this.samples.find((s) => s.at >= after && check(s.servers));
    const context = () => `nginx holds ${describeServers(this.heldAt(Date.now()))}; last error: ${this.errors.at(-1)?.message ?? 'none'}`;
    return waitFor(`${what} in ${this.name}`, found, timeoutMs, { changes: this.changes, context });
  }

  waitServed(address: string, timeoutMs: number, after = 0): Promise<Sample> {
    return this.waitFor(`${address} served`, (servers) => served(servers).includes(address), timeoutMs, after);
  }

  /** nginx holds `address` with this `down` flag (down: listed, sent nothing). */
  waitHeld(address: string, down: boolean, timeoutMs: number, after = 0): Promise<Sample> {
    return this.waitFor(`${address} held with down=${down}`, (servers) => servers.some((s) => s.address === address && s.down === down), timeoutMs, after);
  }

  /** The first answer that serves `address`, from `after` on. */
  firstServed(address: string, after = 0): Sample | undefined {
    return this.samples.find((s) => s.at >= after && served(s.servers).includes(address));
  }

  /** The answers where what nginx serves changed, for the TAP log. */
  timeline(): string[] {
    const lines: string[] = [];
    let last = '';
    for (const sample of this.samples) {
      const now = describeServers(sample.servers);
      if (now !== last) lines.push(`${new Date(sample.at).toISOString().slice(11, 23)} ${now}`);
      last = now;
    }
    return lines;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.source.close?.();
  }

  /** The longest a change waits before this reader asks again. */
  get lagMs(): number {
    return this.source.intervalMs + jitterMs;
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      const requestedAt = Date.now();
      try {
        const answer = await this.source.read(signal);
        if (signal.aborted) break;
        this.samples.push({ requestedAt, at: Date.now(), servers: applyAnswer(this.heldAt(Date.now()), answer) });
      } catch (err) {
        if (signal.aborted) break;
        this.errors.push({ at: Date.now(), message: (err as Error).message });
      }
      this.changes.notify();
      await pause(pauseAfterAnswer(this.source.intervalMs), signal);
    }
  }
}

/** Starts a reader that the test stops at its end. */
export function watchUpstream(t: Test, source: Source): UpsyncReader {
  const reader = new UpsyncReader(source);
  t.teardown(() => reader.stop());
  return reader;
}

export function served(servers: Server[]): string[] {
  return servers
    .filter((s) => !s.down)
    .map((s) => s.address)
    .sort();
}

export function describeServers(servers: Server[]): string {
  if (servers.length === 0) return '[]';
  return servers
    .map((s) => `${s.address}${s.down ? ' down' : ''}`)
    .sort()
    .join(', ');
}

export interface Departure {
  hookToDrainingMs: number; // the kubelet started the hook → nile began taking the instance out (the hook's own start)
  drainingToGoneMs: number; // nile began taking it out → nginx no longer holds it
  preStopToGoneMs: number; // the kubelet started the hook → nginx no longer holds it
  goneBeforeSignalMs: number; // how long before nile signalled the app nginx had let it go
}

/**
 * The pod is being deleted: nginx lets the instance go after nile's prestop starts, before nile signals the app and
 * before the kubelet's TERM; no read begun after nile confirmed the removal still sees it. How long each step took is
 * only measured (the caller prints it): a loaded machine stretches them all.
 */
export async function checkLeavesBeforeStop(t: Test, reader: UpsyncReader, pod: Kubelet, address: string): Promise<Departure | undefined> {
  const preStop = await pod.waitEvent('PreStopStarted', (e) => e.type === 'PreStopStarted', 10_000);
  const gone = await reader.waitFor(`${address} gone`, (servers) => !servers.some((s) => s.address === address), 30_000, preStop.at);
  await pod.exited;
  const line = (msg: string) => pod.nile.logs.find((l) => l.msg === msg);
  const draining = line('prestop: draining (probe answers not ready)');
  const deregistered = line('prestop: deregistered');
  const signalled = line('app stopping');
  const term = pod.eventsOf('TERM')[0];
  const who = `${pod.name} (${address})`;
  if (!t.ok(draining && deregistered && signalled && term, `${who}: nile logged draining, deregistered, app stopping; the kubelet sent TERM`)) return undefined;
  const departure: Departure = {
    hookToDrainingMs: draining!.time - preStop.at,
    drainingToGoneMs: gone.at - draining!.time,
    preStopToGoneMs: gone.at - preStop.at,
    goneBeforeSignalMs: signalled!.time - gone.at,
  };
  t.ok(gone.at >= draining!.time, `${who}: nginx let it go once nile's prestop started (${departure.drainingToGoneMs} ms after)`);
  t.equal(deregistered!.detail, 'removed', `${who}: nile confirmed the removal`);
  t.ok(draining!.time <= deregistered!.time && deregistered!.time <= signalled!.time, `${who}: draining → deregistered → the app signalled`);
  t.ok(gone.at < signalled!.time, `${who}: nginx let it go before the app was signalled (${departure.goneBeforeSignalMs} ms before)`);
  t.ok(gone.at < term!.at, `${who}: and before the kubelet's TERM`);
  const late = reader.samples.find((s) => s.requestedAt >= deregistered!.time && s.servers.some((server) => server.address === address));
  t.notOk(late, `${who}: no read begun after nile confirmed the removal still saw it`);
  return departure;
}

/** For the TAP log. */
/** A figure a test prints, not asserts: speed is the benchmarks'. */
export const measured = (t: Test, what: string, ms: number): void => void t.comment(`measured: ${what}: ${ms} ms`);

export function describeDeparture(d: Departure): string {
  return `hook start → gone ${d.preStopToGoneMs} ms (hook start → nile draining ${d.hookToDrainingMs} ms, draining → gone ${d.drainingToGoneMs} ms), gone ${d.goneBeforeSignalMs} ms before the app was signalled`;
}

/**
 * Consul KV as upsync_type=consul reads it: `GET /v1/kv/<prefix>/<upstream>/?recurse&index=N&wait=…`, key `…/ip:port`.
 * The trailing slash keeps `<upstream>-canary/…` out (Consul matches a prefix); 404 (no key left) is an error to upsync.
 */
export function consulKv(options: { url: string; prefix?: string; upstream: string; token?: string; waitS?: number; intervalMs?: number }): Source {
  const path = `/v1/kv/${[options.prefix ?? 'upstreams', options.upstream].join('/')}/`;
  const blocking = blockingGet(options.url, `${path}?recurse&`, options.token, options.waitS ?? 5);
  return {
    name: `consul kv ${path}`,
    intervalMs: options.intervalMs ?? upsyncIntervalMs,
    read: async (signal) => {
      const answer = await blocking(signal);
      if (answer.status === 404) throw new Error(`GET ${path}: 404 (upsync keeps what it holds)`);
      return (answer.json as KvEntry[]).flatMap((entry) => kvServer(entry));
    },
  };
}

/** Consul health as upsync_type=consul_health reads it: a service whose checks are not all passing is held as down. */
export function consulHealth(options: { url: string; service: string; token?: string; waitS?: number; intervalMs?: number }): Source {
  const path = `/v1/health/service/${options.service}`;
  const blocking = blockingGet(options.url, `${path}?`, options.token, options.waitS ?? 5);
  return {
    name: `consul health ${path}`,
    intervalMs: options.intervalMs ?? upsyncIntervalMs,
    read: async (signal) => {
      const answer = await blocking(signal);
      return (answer.json as HealthEntry[]).flatMap((entry) => healthServer(entry));
    },
  };
}

/** ZooKeeper: the children `ip:port` of `<root>/<upstream>` and their upsync JSON, read every intervalMs. */
export function zooKeeper(options: { connect: string; root?: string; upstream: string; intervalMs?: number }): Source {
  const parent = path.posix.join(options.root ?? '/nginx/upstreams', options.upstream);
  const session = new ZkSession(options.connect);
  return {
    name: `zookeeper ${parent}`,
    intervalMs: options.intervalMs ?? upsyncIntervalMs,
    read: () => session.list(parent),
    close: async () => session.close(),
  };
}

interface KvEntry {
  Key: string;
  Value: string | null;
}

interface HealthEntry {
  Node?: { Address?: string };
  Service: { Address?: string; Port?: number; Tags?: string[] | null };
  Checks: { Status?: string }[];
}

interface Answer {
  status: number;
  json: unknown;
}

/** A blocking query loop's one step: waits on the last index; a reset index (a restarted registry) starts over at 0. */
function blockingGet(url: string, request: string, token: string | undefined, waitS: number): (signal: AbortSignal) => Promise<Answer> {
  const path = request.slice(0, request.indexOf('?'));
  let index = 0;
  return async (signal) => {
    const headers: Record<string, string> = token ? { 'X-Consul-Token': token } : {};
    let res: Response;
    try {
      res = await fetch(`${url}${request}index=${index}&wait=${waitS}s`, { headers, signal: AbortSignal.any([signal, AbortSignal.timeout((waitS + 5) * 1000)]) });
    } catch (err) {
      index = 0;
      throw err;
    }
    const text = await res.text();
    if (res.status !== 200 && res.status !== 404) {
      index = 0;
      throw new Error(`GET ${path}: ${res.status} ${text.trim()}`);
    }
    const next = Number(res.headers.get('x-consul-index') ?? 0);
    index = next > index ? next : next < index ? 0 : index;
    return { status: res.status, json: res.status === 200 ? JSON.parse(text) : [] };
  };
}

function kvServer(entry: KvEntry): Server[] {
  const address = entry.Key.slice(entry.Key.lastIndexOf('/') + 1);
  if (!isAddress(address)) return [];
  const text = entry.Value ? Buffer.from(entry.Value, 'base64').toString('utf8') : '';
  const server = jsonServer(address, text);
  return server ? [server] : [];
}

function healthServer(entry: HealthEntry): Server[] {
  const host = entry.Service.Address || entry.Node?.Address;
  const port = entry.Service.Port ?? 0;
  if (!host || port < 1 || port > 65535) return [];
  const server: Server = { address: `${host}:${port}`, ...defaults };
  server.down = entry.Checks.some((check) => check.Status !== 'passing');
  for (const tag of entry.Service.Tags ?? []) {
    const [name, value] = tag.split('=', 2);
    if (name === 'weight' && Number(value) > 0) server.weight = Number(value);
    else if (name === 'max_fails' && Number(value) >= 0) server.maxFails = Number(value);
    else if (name === 'fail_timeout' && /^\d+s?$/.test(value ?? '')) server.failTimeout = parseInt(value, 10);
    else if (tag === 'down') server.down = true;
    else if (tag === 'backup') server.backup = true;
  }
  return [server];
}

/** upsync's JSON value; an empty one means the defaults, one it cannot parse leaves the server out. */
function jsonServer(address: string, text: string): Server | undefined {
  const server: Server = { address, ...defaults };
  if (!text) return server;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const number = (key: string): number | undefined => {
    const raw = value[key];
    const n = typeof raw === 'string' ? parseInt(raw, 10) : typeof raw === 'number' ? raw : NaN;
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  };
  server.weight = number('weight') || 1;
  server.maxFails = number('max_fails') ?? defaults.maxFails;
  server.failTimeout = number('fail_timeout') ?? defaults.failTimeout;
  server.down = number('down') === 1;
  server.backup = number('backup') === 1;
  return server;
}

function isAddress(text: string): boolean {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

type ListingClient = ZkClient & { getChildren(path: string, done: (error: ZkException | null, children: string[]) => void): void };

/**
 * A plain client that comes back by itself: the library may wait without end on a handshake with a server that is
 * starting, or keep offering a session that a server which lost its data refuses, so a failed read opens a new one.
 */
class ZkSession {
  private client: ListingClient;

  constructor(private readonly connect: string) {
    this.client = this.open();
  }

  async list(parent: string): Promise<Server[]> {
    const client = this.client;
    const deadline = Date.now() + 500;
    try {
      const names = await ask<string[]>('getChildren', deadline - Date.now(), (done) => client.getChildren(parent, (error, children) => done(error, children)));
      const servers = await Promise.all(names.filter(isAddress).map((name) => this.server(client, `${parent}/${name}`, name, deadline)));
      return servers.filter((server): server is Server => server !== undefined);
    } catch (err) {
      if (errorCode(err) === zkLibrary.Exception.NO_NODE) return [];
      closeClient(client);
      this.client = this.open();
      throw err;
    }
  }

  close(): void {
    closeClient(this.client);
  }

  private async server(client: ListingClient, node: string, address: string, deadline: number): Promise<Server | undefined> {
    try {
      const data = await ask<Buffer>('getData', deadline - Date.now(), (done) => client.getData(node, (error, value) => done(error, value)));
      return jsonServer(address, data ? data.toString('utf8') : '');
    } catch (err) {
      if (errorCode(err) === zkLibrary.Exception.NO_NODE) return undefined; // gone between the listing and the read
      throw err;
    }
  }

  private open(): ListingClient {
    const client = plainClient(this.connect, { sessionTimeout: 5000, spinDelay: 100 }) as ListingClient;
    client.connect();
    return client;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
