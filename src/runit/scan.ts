import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../log.js';
import { RunitService, type ServiceInfo } from './service.js';

export interface ServicesOptions {
  dir: string; // the directory of service directories, /etc/service by default
  log: Log;
  scanMs?: number;
  stopTimeoutMs?: number; // after TERM, KILL what still runs
}

export interface ServicesHandle {
  /** TERM every service (runsv's `x`), wait for them, KILL what is left after the timeout. */
  stop(): Promise<void>;
  list(): ServiceInfo[];
}

const defaultScanMs = 5000;
const defaultStopTimeoutMs = 10_000;
const rescanAfterExitMs = 1000;

/** runsvdir: supervises every directory in `dir`, picking up new ones and retiring removed ones. */
export function startServices(options: ServicesOptions): ServicesHandle {
  const scanner = new ServiceScanner(options.dir, options.log, options.stopTimeoutMs ?? defaultStopTimeoutMs);
  scanner.start(options.scanMs ?? defaultScanMs);
  return scanner;
}

class ServiceScanner implements ServicesHandle {
  // Keyed by device and inode, as runsvdir does: a renamed directory is the same service.
  private readonly running = new Map<string, RunitService>();
  private readonly leaving = new Set<RunitService>();
  private readonly problems = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly log: Log,
    private readonly stopTimeoutMs: number,
  ) {}

  start(scanMs: number): void {
    this.scan();
    // Kept referenced: like runsvdir, the scan goes on until stop(), services or not.
    this.timer = setInterval(() => this.scan(), scanMs);
  }

  list(): ServiceInfo[] {
    return [...this.running.values(), ...this.leaving].flatMap((service) => service.list()).sort((a, b) => a.name.localeCompare(b.name));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.scanning;
    const all = [...this.running.values(), ...this.leaving];
    await Promise.all(all.map((service) => service.stop(this.stopTimeoutMs)));
  }

  private scan(): void {
    if (this.scanning || this.stopped) return;
    this.scanning = this.look()
      .then((found) => this.reconcile(found))
      .catch((err: Error) => this.problem('dir', `cannot read ${this.dir}: ${err.message}`))
      .finally(() => (this.scanning = null));
  }

  /** The service directories in `dir`: key → name, skipping dot files as runsvdir does. */
  private async look(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const name of (await readdir(this.dir)).sort()) {
      if (name.startsWith('.')) continue;
      try {
        const st = await stat(path.join(this.dir, name));
        const key = `${st.dev}:${st.ino}`;
        if (st.isDirectory() && !found.has(key)) found.set(key, name);
      } catch (err) {
        this.problem(name, `cannot stat ${name}: ${(err as Error).message}`);
      }
    }
    this.problem('dir', '');
    return found;
  }

  private async reconcile(found: Map<string, string>): Promise<void> {
    for (const [key, service] of this.running) {
      if (!found.has(key)) this.retire(key, service);
    }
    const fresh = [...found].filter(([key]) => !this.running.has(key));
    await Promise.all(fresh.map(([key, name]) => this.begin(key, name)));
  }

  private async begin(key: string, name: string): Promise<void> {
    let service: RunitService;
    try {
      service = await RunitService.start(path.join(this.dir, name), this.log, { name });
    } catch (err) {
      this.problem(key, `cannot supervise ${name}: ${(err as Error).message}`);
      return;
    }
    this.problem(key, '');
    this.log.info({ service: name }, 'supervising service');
    this.running.set(key, service);
    void service.done.then(() => this.exited(key, service));
  }

  // As runsvdir: a supervisor that left (`sv exit`) is started again while its directory is there.
  private exited(key: string, service: RunitService): void {
    if (this.running.get(key) !== service) return;
    this.running.delete(key);
    if (!this.stopped) setTimeout(() => this.scan(), rescanAfterExitMs).unref();
  }

  // As runsvdir: TERM to the supervisor of a removed directory, which then leaves once the service is down.
  private retire(key: string, service: RunitService): void {
    this.running.delete(key);
    this.leaving.add(service);
    this.log.info({ service: service.name }, 'service directory removed; stopping it');
    service.send('x');
    void service.done.then(() => this.leaving.delete(service));
  }

  // Logged when it first appears or changes, not every scan.
  private problem(key: string, message: string): void {
    if (this.problems.get(key) === message || (!message && !this.problems.has(key))) return;
    if (message) {
      this.problems.set(key, message);
      this.log.warn({ dir: this.dir }, message);
    } else this.problems.delete(key);
  }
}
