import type { Config } from '../config/schema.js';
import { combine, type ProbeResult } from './result.js';
import { probeTcp } from './tcp.js';

export type Prober = () => Promise<ProbeResult>;

/** Told each check's kind, result and duration (for the metrics). */
export type ProbeObserver = (kind: string, ok: boolean, ms: number) => void;

/**
 * The checks the project type calls for: web http; rpc http + tcp; worker none (running is ready).
 * The http client is loaded only when an http probe is configured.
 */
export async function proberFor(probe: Config['probe'], host = '127.0.0.1', observe?: ProbeObserver): Promise<Prober> {
  const probeHttp = probe.http.enabled ? (await import('./http.js')).probeHttp : null;
  const timed = (name: string, check: Promise<ProbeResult>, started = Date.now()) =>
    check.then((result) => {
      observe?.(name, result.ok, Date.now() - started);
      return { name, result };
    });
  return async () => {
    const checks: Array<Promise<{ name: string; result: ProbeResult }>> = [];
    if (probeHttp) checks.push(timed('http', probeHttp(host, probe.http.port, probe.http.path, probe.http.timeout)));
    if (probe.tcp.enabled) checks.push(timed('tcp', probeTcp(host, probe.tcp.port, probe.tcp.timeout)));
    return combine(await Promise.all(checks));
  };
}
