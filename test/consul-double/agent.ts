// The local agent's services and TTL checks: a check not updated within its TTL goes critical, and a service whose
// check stays critical past DeregisterCriticalServiceAfter is reaped.

import type { Clock } from '../../src/toolbox/clock.js';
import { Changes } from './changes.js';
import { formatDuration, parseDuration } from './duration.js';
import { HttpError } from './http.js';
import { DATACENTER, NODE } from './node.js';

export interface CheckBody {
  CheckID?: string;
  Name?: string;
  TTL?: string;
  Status?: string;
  Notes?: string;
  DeregisterCriticalServiceAfter?: string;
  HTTP?: string;
  TCP?: string;
  Args?: string[];
  GRPC?: string;
}

export interface ServiceBody {
  Name?: string;
  ID?: string;
  Address?: string;
  Port?: number;
  Tags?: string[];
  Meta?: Record<string, string>;
  EnableTagOverride?: boolean;
  Check?: CheckBody;
  Checks?: CheckBody[];
}

export interface ServiceRecord {
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Port: number;
  Address: string;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  Datacenter: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CheckRecord {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Definition: { TTL: string; DeregisterCriticalServiceAfter: string };
  CreateIndex: number;
  ModifyIndex: number;
}

interface LiveCheck {
  record: CheckRecord;
  ttlMs: number;
  deregisterAfterMs?: number;
  criticalSince?: number;
  cancelTtl?: () => void;
}

export interface AgentTimings {
  reapIntervalMs: number;
  minDeregisterMs: number;
  /** The TTLs' and the reaper's time; tests pass a manual one. */
  clock: Clock;
}

const statuses = new Set(['passing', 'warning', 'critical']);

export class Agent {
  tableIndex = 1;
  private readonly services = new Map<string, ServiceRecord>();
  private readonly checks = new Map<string, LiveCheck>();
  private cancelReaper: () => void = () => undefined;

  constructor(
    private readonly changes: Changes,
    private readonly timings: AgentTimings,
    private readonly onCritical: (checkId: string) => void,
  ) {
    this.reapEvery(timings.reapIntervalMs);
  }

  register(body: ServiceBody, replaceExistingChecks: boolean): void {
    if (!body.Name) throw new HttpError(400, 'Missing service name');
    const id = body.ID || body.Name;
    const definitions = body.Checks ?? (body.Check ? [body.Check] : []);
    // Consul numbers generated check IDs only when a service has more than one check.
    const parsed = definitions.map((c, i) => parseCheck(c, definitions.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`));
    const index = this.changes.next();
    const previous = this.services.get(id);
    const service: ServiceRecord = {
      ID: id,
      Service: body.Name,
      Tags: body.Tags ?? [],
      Meta: body.Meta ?? {},
      Port: body.Port ?? 0,
      Address: body.Address ?? '',
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: body.EnableTagOverride ?? false,
      Datacenter: DATACENTER,
      CreateIndex: previous?.CreateIndex ?? index,
      ModifyIndex: index,
    };
    this.services.set(id, service);
    if (replaceExistingChecks) for (const c of this.checksOf(id)) this.dropCheck(c.record.CheckID);
    for (const c of parsed) this.addCheck(service, c, index);
    this.tableIndex = index;
  }

  /** Removes the service and its checks; an unknown service is no error. */
  deregister(id: string): void {
    if (!this.services.has(id)) return;
    this.services.delete(id);
    for (const c of this.checksOf(id)) this.dropCheck(c.record.CheckID);
    this.tableIndex = this.changes.next();
  }

  /** A TTL check's update (pass, warn, fail, update): sets the status and restarts its TTL clock. */
  updateCheck(checkId: string, status: string, output: string): void {
    const live = this.checks.get(checkId);
    if (!live) throw new HttpError(404, `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`);
    if (!statuses.has(status)) throw new HttpError(400, `Invalid check status: '${status}'`);
    this.setStatus(live, status, output);
    this.armTtl(live);
  }

  checkExists(checkId: string): boolean {
    return this.checks.has(checkId);
  }

  listServices(): Record<string, ServiceRecord> {
    return Object.fromEntries([...this.services].map(([id, s]) => [id, s]));
  }

  listChecks(): Record<string, CheckRecord> {
    return Object.fromEntries([...this.checks].map(([id, c]) => [id, c.record]));
  }

  /** Every instance of a service name, with its checks, as the catalog and health endpoints show them. */
  instances(name: string): { service: ServiceRecord; checks: CheckRecord[] }[] {
    return [...this.services.values()]
      .filter((s) => s.Service === name)
      .map((service) => ({ service, checks: this.checksOf(service.ID).map((c) => c.record) }));
  }

  dispose(): void {
    this.cancelReaper();
    for (const c of this.checks.values()) c.cancelTtl?.();
    this.checks.clear();
    this.services.clear();
  }

  private addCheck(service: ServiceRecord, c: ParsedCheck, index: number): void {
    const previous = this.checks.get(c.id);
    previous?.cancelTtl?.();
    const live: LiveCheck = {
      record: {
        Node: NODE,
        CheckID: c.id,
        Name: c.name ?? `Service '${service.Service}' check`,
        Status: c.status,
        Notes: c.notes,
        Output: '',
        ServiceID: service.ID,
        ServiceName: service.Service,
        ServiceTags: service.Tags,
        Type: 'ttl',
        Definition: { TTL: formatDuration(c.ttlMs), DeregisterCriticalServiceAfter: formatDuration(c.deregisterAfterMs ?? 0) },
        CreateIndex: previous?.record.CreateIndex ?? index,
        ModifyIndex: index,
      },
      ttlMs: c.ttlMs,
      deregisterAfterMs: c.deregisterAfterMs === undefined ? undefined : Math.max(c.deregisterAfterMs, this.timings.minDeregisterMs),
      criticalSince: c.status === 'critical' ? this.timings.clock.now() : undefined,
    };
    this.checks.set(c.id, live);
    this.armTtl(live);
  }

  private dropCheck(checkId: string): void {
    this.checks.get(checkId)?.cancelTtl?.();
    this.checks.delete(checkId);
  }

  private checksOf(serviceId: string): LiveCheck[] {
    return [...this.checks.values()].filter((c) => c.record.ServiceID === serviceId);
  }

  private armTtl(live: LiveCheck): void {
    live.cancelTtl?.();
    live.cancelTtl = this.timings.clock.after(live.ttlMs, () => this.setStatus(live, 'critical', `TTL expired (last output before timeout follows): ${live.record.Output}`));
  }

  // Only a change of status or output is a write (a heartbeat that changes nothing does not wake blocking queries).
  private setStatus(live: LiveCheck, status: string, output: string): void {
    if (live.record.Status === status && live.record.Output === output) return;
    const becameCritical = status === 'critical' && live.record.Status !== 'critical';
    const index = this.changes.next();
    live.record = { ...live.record, Status: status, Output: output, ModifyIndex: index };
    live.criticalSince = status === 'critical' ? (live.criticalSince ?? this.timings.clock.now()) : undefined;
    this.tableIndex = index;
    if (becameCritical) this.onCritical(live.record.CheckID);
  }

  private reapEvery(ms: number): void {
    this.cancelReaper = this.timings.clock.after(ms, () => {
      this.reapCritical();
      this.reapEvery(ms);
    });
  }

  private reapCritical(): void {
    const now = this.timings.clock.now();
    for (const c of [...this.checks.values()]) {
      if (c.deregisterAfterMs !== undefined && c.criticalSince !== undefined && now - c.criticalSince >= c.deregisterAfterMs) {
        this.deregister(c.record.ServiceID);
      }
    }
  }
}

interface ParsedCheck {
  id: string;
  name?: string;
  status: string;
  notes: string;
  ttlMs: number;
  deregisterAfterMs?: number;
}

function parseCheck(body: CheckBody, defaultId: string): ParsedCheck {
  if (body.HTTP || body.TCP || body.Args || body.GRPC) throw new HttpError(400, 'Invalid check: this Consul test double runs TTL checks only');
  const ttlMs = parseDuration(body.TTL ?? '');
  if (!ttlMs) throw new HttpError(400, 'Invalid check: TTL must be > 0 for TTL checks');
  const status = body.Status || 'critical';
  if (!statuses.has(status)) throw new HttpError(400, "Status for checks must 'passing', 'warning', 'critical'");
  const deregister = body.DeregisterCriticalServiceAfter;
  const deregisterAfterMs = deregister ? parseDuration(deregister) : undefined;
  if (deregister && deregisterAfterMs === undefined) throw new HttpError(400, `Request decode failed: time: invalid duration "${deregister}"`);
  return { id: body.CheckID || defaultId, name: body.Name, status, notes: body.Notes ?? '', ttlMs, deregisterAfterMs };
}
