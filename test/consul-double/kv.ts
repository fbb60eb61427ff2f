// The KV store with Consul's lock semantics: acquire/release by session, check-and-set, and the lock-delay after a session dies.

import type { Clock } from '../../src/toolbox/clock.js';
import { Changes } from './changes.js';
import { HttpError } from './http.js';
import type { SessionRecord } from './sessions.js';

export interface KvEntry {
  Key: string;
  Value: Buffer;
  Flags: number;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Session?: string;
}

export interface PutOptions {
  flags?: number;
  cas?: number;
  acquire?: string;
  release?: string;
}

export class KvStore {
  tableIndex = 1;
  private readonly entries = new Map<string, KvEntry>();
  private readonly tombstones = new Map<string, number>();
  private readonly lockDelayUntil = new Map<string, number>();

  constructor(
    private readonly changes: Changes,
    private readonly clock: Clock,
    private readonly sessionExists: (id: string) => boolean,
  ) {}

  read(key: string, recurse: boolean): KvEntry[] {
    return [...this.entries.values()].filter((e) => matches(e.Key, key, recurse)).sort((a, b) => a.Key.localeCompare(b.Key));
  }

  /** The X-Consul-Index of a read: the latest write (or delete) under it, else the table's. */
  indexOf(key: string, recurse: boolean): number {
    let index = 0;
    for (const e of this.read(key, recurse)) index = Math.max(index, e.ModifyIndex);
    for (const [k, deletedAt] of this.tombstones) if (matches(k, key, recurse)) index = Math.max(index, deletedAt);
    return index || this.tableIndex;
  }

  put(key: string, value: Buffer, options: PutOptions): boolean {
    const existing = this.entries.get(key);
    if (options.cas !== undefined && !casHolds(existing, options.cas)) return false;
    const lock = this.lockAfter(key, existing, options);
    if (!lock) return false;
    const index = this.changes.next();
    this.entries.set(key, {
      Key: key,
      Value: value,
      Flags: options.flags ?? 0,
      CreateIndex: existing?.CreateIndex ?? index,
      ModifyIndex: index,
      LockIndex: lock.lockIndex,
      Session: lock.session,
    });
    this.tombstones.delete(key);
    this.tableIndex = index;
    return true;
  }

  remove(key: string, recurse: boolean, cas?: number): boolean {
    if (cas !== undefined && (recurse || cas === 0 || this.entries.get(key)?.ModifyIndex !== cas)) return false;
    const doomed = this.read(key, recurse);
    if (doomed.length === 0) return true;
    const index = this.changes.next();
    for (const e of doomed) this.drop(e.Key, index);
    this.tableIndex = index;
    return true;
  }

  /** A session died: its keys are released or deleted (its Behavior), and held back for its LockDelay. */
  sessionInvalidated(session: SessionRecord): void {
    const held = [...this.entries.values()].filter((e) => e.Session === session.ID);
    if (held.length === 0) return;
    const index = this.changes.next();
    const delayMs = session.LockDelay / 1e6;
    for (const e of held) {
      if (delayMs > 0) this.lockDelayUntil.set(e.Key, this.clock.now() + delayMs);
      if (session.Behavior === 'delete') this.drop(e.Key, index);
      else this.entries.set(e.Key, { ...e, Session: undefined, ModifyIndex: index });
    }
    this.tableIndex = index;
  }

  // The session and LockIndex the entry will have after this put, or undefined when the lock refuses it.
  private lockAfter(key: string, existing: KvEntry | undefined, options: PutOptions): { session?: string; lockIndex: number } | undefined {
    const lockIndex = existing?.LockIndex ?? 0;
    if (options.acquire) {
      if (!this.sessionExists(options.acquire)) throw new HttpError(500, `invalid session "${options.acquire}"`);
      if (existing?.Session === options.acquire) return { session: options.acquire, lockIndex };
      if (existing?.Session) return undefined;
      if ((this.lockDelayUntil.get(key) ?? 0) > this.clock.now()) return undefined;
      return { session: options.acquire, lockIndex: lockIndex + 1 };
    }
    if (options.release) {
      if (existing?.Session !== options.release) return undefined;
      return { lockIndex };
    }
    // A plain write goes through even on a locked key and keeps the lock.
    return { session: existing?.Session, lockIndex };
  }

  private drop(key: string, index: number): void {
    this.entries.delete(key);
    this.tombstones.set(key, index);
  }
}

function matches(candidate: string, key: string, recurse: boolean): boolean {
  return recurse ? candidate.startsWith(key) : candidate === key;
}

// cas=0 creates only; cas=N writes only over ModifyIndex N.
function casHolds(existing: KvEntry | undefined, cas: number): boolean {
  return cas === 0 ? !existing : existing?.ModifyIndex === cas;
}
