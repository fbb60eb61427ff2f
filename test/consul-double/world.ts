// Everything a Consul agent and its servers hold in memory; a restart without persistence starts a fresh world.

import { Agent, type AgentTimings } from './agent.js';
import { Changes } from './changes.js';
import { KvStore } from './kv.js';
import { Sessions } from './sessions.js';

export interface WorldTimings extends AgentTimings {
  minTtlMs: number;
}

export class World {
  readonly changes: Changes;
  readonly sessions: Sessions;
  readonly kv: KvStore;
  readonly agent: Agent;

  constructor(timings: WorldTimings) {
    this.changes = new Changes(timings.clock);
    this.agent = new Agent(this.changes, timings, (checkId) => this.sessions.checkCritical(checkId));
    this.sessions = new Sessions(
      this.changes,
      timings.clock,
      timings.minTtlMs,
      (id) => this.agent.checkExists(id),
      (session) => this.kv.sessionInvalidated(session),
    );
    this.kv = new KvStore(this.changes, timings.clock, (id) => this.sessions.exists(id));
  }

  dispose(): void {
    this.sessions.dispose();
    this.agent.dispose();
    this.changes.releaseAll();
  }
}
