// Sessions: TTL sessions die when not renewed within twice their TTL (Consul's documented grace), or with a check of theirs.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../src/toolbox/clock.js';
import { Changes } from './changes.js';
import { formatDuration, parseDuration } from './duration.js';
import { HttpError } from './http.js';
import { NODE, SERF_HEALTH } from './node.js';

const maxTtlMs = 24 * 3_600_000;
// Consul reads a LockDelay under 1000 (ns, or a bare number) as seconds.
const lockDelaySecondsBelow = 1000;

export interface SessionRecord {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number; // nanoseconds, as Consul reports it
  Behavior: 'release' | 'delete';
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string }[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CreateBody {
  Name?: string;
  TTL?: string;
  Behavior?: string;
  LockDelay?: string | number;
  Checks?: string[] | null;
  NodeChecks?: string[] | null;
  ServiceChecks?: { ID: string }[] | null;
}

interface Live {
  record: SessionRecord;
  ttlMs: number;
  cancelExpiry?: () => void;
}

export class Sessions {
  tableIndex = 1;
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly changes: Changes,
    private readonly clock: Clock,
    private readonly minTtlMs: number,
    private readonly checkExists: (id: string) => boolean,
    private readonly onInvalidate: (session: SessionRecord) => void,
  ) {}

  create(body: CreateBody): string {
    const ttlMs = this.ttlOf(body.TTL ?? '');
    const behavior = body.Behavior || 'release';
    if (behavior !== 'release' && behavior !== 'delete') throw new HttpError(500, `Invalid Behavior setting '${behavior}'`);
    const nodeChecks = checksOf(body);
    for (const id of [...(nodeChecks ?? []), ...(body.ServiceChecks ?? []).map((c) => c.ID)]) {
      if (id !== SERF_HEALTH && !this.checkExists(id)) throw new HttpError(500, `Missing check '${id}' registration`);
    }
    const index = this.changes.next();
    const record: SessionRecord = {
      ID: randomUUID(),
      Name: body.Name ?? '',
      Node: NODE,
      LockDelay: lockDelayNs(body.LockDelay),
      Behavior: behavior,
      TTL: body.TTL ?? '',
      NodeChecks: nodeChecks,
      ServiceChecks: body.ServiceChecks ?? null,
      CreateIndex: index,
      ModifyIndex: index,
    };
    this.live.set(record.ID, { record, ttlMs });
    this.tableIndex = index;
    this.arm(record.ID);
    return record.ID;
  }

  /** Extends the session by its TTL; undefined when it does not exist (any more). */
  renew(id: string): SessionRecord | undefined {
    if (!this.live.has(id)) return undefined;
    this.arm(id);
    return this.live.get(id)?.record;
  }

  destroy(id: string): void {
    const session = this.live.get(id);
    if (!session) return;
    session.cancelExpiry?.();
    this.live.delete(id);
    this.tableIndex = this.changes.next();
    this.onInvalidate(session.record);
  }

  /** A check went critical: every session bound to it is invalidated. */
  checkCritical(checkId: string): void {
    for (const { record } of [...this.live.values()]) {
      const bound = [...(record.NodeChecks ?? []), ...(record.ServiceChecks ?? []).map((c) => c.ID)];
      if (bound.includes(checkId)) this.destroy(record.ID);
    }
  }

  exists(id: string): boolean {
    return this.live.has(id);
  }

  list(): SessionRecord[] {
    return [...this.live.values()].map((s) => s.record);
  }

  dispose(): void {
    this.pause();
    this.live.clear();
  }

  /** No leader runs the TTL timers: no session expires until one is elected. */
  pause(): void {
    for (const session of this.live.values()) session.cancelExpiry?.();
  }

  /** A new leader starts every session's TTL timer afresh (Consul's initializeSessionTimers). */
  resetTimers(): void {
    for (const id of this.live.keys()) this.arm(id);
  }

  private arm(id: string): void {
    const session = this.live.get(id);
    if (!session || !session.ttlMs) return;
    session.cancelExpiry?.();
    session.cancelExpiry = this.clock.after(2 * session.ttlMs, () => this.destroy(id));
  }

  private ttlOf(text: string): number {
    if (text === '') return 0;
    const ms = parseDuration(text);
    if (ms === undefined) throw new HttpError(500, `Invalid Session TTL '${text}': time: invalid duration "${text}"`);
    if (ms !== 0 && (ms < this.minTtlMs || ms > maxTtlMs)) {
      throw new HttpError(500, `Invalid Session TTL '${ms * 1e6}', must be between [${formatDuration(this.minTtlMs)}=${formatDuration(maxTtlMs)}]`);
    }
    return ms;
  }
}

// Without a Checks key the session is bound to serfHealth; an explicit empty list binds it to nothing.
function checksOf(body: CreateBody): string[] | null {
  if ('NodeChecks' in body && body.NodeChecks) return body.NodeChecks;
  if ('Checks' in body) return body.Checks ?? [];
  if ('NodeChecks' in body) return [];
  return [SERF_HEALTH];
}

function lockDelayNs(value: string | number | undefined): number {
  if (value === undefined) return 15e9;
  let ns = typeof value === 'number' ? value : (parseDuration(value) ?? NaN) * 1e6;
  if (Number.isNaN(ns)) throw new HttpError(400, `Request decode failed: time: invalid duration "${String(value)}"`);
  if (ns < lockDelaySecondsBelow) ns *= 1e9;
  return ns;
}
