import { Agent, request } from 'undici';
import { errorText } from '../errors.js';
import type { ProbeResult } from './result.js';

// One keep-alive-free agent: a probe must see a fresh connection, as the kubelet would.
const agent = new Agent({ pipelining: 0, keepAliveTimeout: 1, connections: 4 });

/** GET the health path: 2xx and 3xx are ready; redirects are not followed. */
export async function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = { ok: false, detail: `${path} timed out after ${timeoutMs}ms` };
  try {
    const response = await request(`http://${host}:${port}${path}`, { method: 'GET', dispatcher: agent, signal, headers: { 'user-agent': 'nile-probe' } });
    await response.body.dump({ limit: 64 * 1024, signal });
    // dump() ends quietly when the timeout cuts the body short: the exchange did not finish in time.
    if (signal.aborted) return timedOut;
    const ms = Math.round(performance.now() - started);
    const ok = response.statusCode >= 200 && response.statusCode < 400;
    return { ok, detail: `${response.statusCode} ${path} in ${ms}ms` };
  } catch (err) {
    if (signal.aborted) return timedOut;
    return { ok: false, detail: `${path} ${errorText(err)}` };
  }
}
