// A TEST DOUBLE of Consul's HTTP API (agent + servers in one process), for tests only: a real Consul server is not
// obtainable here. It follows the documented API for what nile and nginx upsync use: sessions (TTL with the 2×TTL
// grace, release/delete behaviors, lock-delay), KV (locks, cas, recurse/keys, blocking queries with X-Consul-Index),
// agent services with TTL checks (service:<ID>, expiry to critical, DeregisterCriticalServiceAfter), catalog and
// health (?passing), and ACL tokens. Not served: ?raw, ?dc/?ns, consistency modes, hash-based blocking, HTTP/TCP/script
// checks, the ACL management endpoints. restart() loses all state, as an agent and servers without persistence do.
// loseLeader() is the servers without quorum: whatever needs a leader (KV, sessions, catalog and health reads that are
// not ?stale) answers 500 "rpc error making call: No cluster leader" and no session expires; the agent's own endpoints
// keep answering from its local state. electLeader() ends it, and the new leader starts every session's TTL afresh.
// setTokens() rotates the ACL tokens while running. Its time (TTLs, lock-delays, the reaper, blocking waits) is a Clock:
// real by default, manual where a test makes time its subject.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Acl, type Rules } from './acl.js';
import { agentEndpoints } from './agent-endpoints.js';
import { catalogEndpoints } from './catalog-endpoints.js';
import { HttpError, readCall, sendError, sendReply, type Call } from './http.js';
import { kvEndpoints } from './kv-endpoints.js';
import type { Route } from './route.js';
import { sessionEndpoints } from './session-endpoints.js';
import { World, type WorldTimings } from './world.js';
import { sleep } from '../helpers/wait.js';
import { realClock, type Clock } from '../../src/toolbox/clock.js';

export interface ConsulDoubleOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Consul refuses session TTLs under 10s; tests pass 0 so that 1s sessions keep them fast. */
  minTtlMs?: number;
  /** Consul reaps services critical past DeregisterCriticalServiceAfter every 30s. */
  reapIntervalMs?: number;
  /** Consul raises DeregisterCriticalServiceAfter to at least 1m. */
  minDeregisterMs?: number;
  /** ACL tokens by secret, with their rights; none = ACLs disabled. */
  tokens?: Record<string, Rules>;
  /** The time of TTLs, lock-delays, the reaper and blocking waits (real by default); tests where time is the subject pass a manual one. */
  clock?: Clock;
}

const routes: Route[] = [...sessionEndpoints, ...kvEndpoints, ...agentEndpoints, ...catalogEndpoints];

export class ConsulDouble {
  private world: World;
  private server?: http.Server;
  private boundPort = 0;
  private readonly acl: Acl;
  private readonly timings: WorldTimings;
  private leaderless = false;
  /** When each request came, for the load a fleet puts on it. */
  readonly requestsAt: number[] = [];

  private constructor(options: ConsulDoubleOptions) {
    this.timings = {
      minTtlMs: options.minTtlMs ?? 10_000,
      reapIntervalMs: options.reapIntervalMs ?? 30_000,
      minDeregisterMs: options.minDeregisterMs ?? 60_000,
      clock: options.clock ?? realClock,
    };
    this.acl = new Acl(options.tokens);
    this.world = new World(this.timings);
  }

  static async start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const double = new ConsulDouble(options);
    await double.listen(options.port ?? 0);
    return double;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The agent's address, as nile's `registry.consul.url` takes it. */
  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** Stops, forgets every session, key, service and check, and listens again on the same port after `downMs`. */
  async restart(downMs = 0): Promise<void> {
    await this.goDown();
    if (downMs > 0) await sleep(downMs);
    await this.comeBack();
  }

  /** A restart's first half, for a test that moves a manual clock while the agent is down: the port closed, everything forgotten. */
  async goDown(): Promise<void> {
    await this.stop();
    this.world = new World(this.timings);
  }

  /** A restart's second half: listening again on the same port. */
  comeBack(): Promise<void> {
    return this.listen(this.boundPort);
  }

  /** The servers lose quorum: no leader until electLeader(). */
  loseLeader(): void {
    this.leaderless = true;
    this.world.sessions.pause();
  }

  electLeader(): void {
    this.leaderless = false;
    this.world.sessions.resetTimers();
  }

  /** Replaces the ACL tokens (a rotation: the new one created, the old one deleted). */
  setTokens(tokens: Record<string, Rules>): void {
    this.acl.replace(tokens);
  }

  /** Closes the port and every open connection, held blocking queries included. */
  async stop(): Promise<void> {
    this.world.dispose();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requestsAt.push(this.timings.clock.now());
    const world = this.world;
    try {
      const call = await readCall(req);
      const { route, params } = match(call);
      if (this.leaderless && needsLeader(call)) return sendError(res, 500, 'rpc error making call: No cluster leader');
      this.acl.authorize(call.token, route.right, route.resource?.(call) ?? params[params.length - 1] ?? '');
      sendReply(res, await route.handle(world, call, params));
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof HttpError) sendError(res, err.status, err.message);
      else sendError(res, 500, (err as Error).message);
    }
  }
}

// The agent answers its own endpoints from local state; a ?stale read is served by any server.
function needsLeader(call: Call): boolean {
  return !call.path.startsWith('/agent/') && !(call.method === 'GET' && call.query.has('stale'));
}

function match(call: Call): { route: Route; params: string[] } {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.path.exec(call.path);
    if (!m) continue;
    pathMatched = true;
    if (route.method === call.method) return { route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  if (pathMatched) throw new HttpError(405, `method ${call.method} not allowed`);
  throw new HttpError(404, '404 page not found');
}
