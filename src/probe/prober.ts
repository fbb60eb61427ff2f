import type { Config } from '../config/schema.js';
import { combine, type ProbeResult } from './result.js';
import { probeTcp } from './tcp.js';

export type Prober = () => Promise<ProbeResult>;

/**
 * The checks the project type calls for: web http; rpc http + tcp; worker none (running is ready).
 * The http client is loaded only when an http probe is configured.
 */
export async function proberFor(probe: Config['probe'], host = '127.0.0.1'): Promise<Prober> {
  const probeHttp = probe.http.enabled ? (await import('./http.js')).probeHttp : null;
  return async () => {
    const checks: Array<Promise<{ name: string; result: ProbeResult }>> = [];
    if (probeHttp) checks.push(probeHttp(host, probe.http.port, probe.http.path, probe.http.timeout).then((result) => ({ name: 'http', result })));
    if (probe.tcp.enabled) checks.push(probeTcp(host, probe.tcp.port, probe.tcp.timeout).then((result) => ({ name: 'tcp', result })));
    return combine(await Promise.all(checks));
  };
}
