import { Agent, request } from 'undici';
import { errorText } from '../errors.js';
import type { ProbeResult } from './result.js';

// One keep-alive-free agent: a probe must see a fresh connection, as the kubelet would.
const agent = new Agent({ pipelining: 0, keepAliveTimeout: 1, connections: 4 });

/** GET the health path: 2xx and 3xx are ready; redirects are not followed. */
export async function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(`http://${host}:${port}${path}`, { method: 'GET', dispatcher: agent, signal, headers: { 'user-agent': 'nile-probe' } });
    await response.body.dump({ limit: 64 * 1024 });
    const ms = Math.round(performance.now() - started);
    const ok = response.statusCode >= 200 && response.statusCode < 400;
    return { ok, detail: `${response.statusCode} ${path} in ${ms}ms` };
  } catch (err) {
    if (signal.aborted) return { ok: false, detail: `${path} timed out after ${timeoutMs}ms` };
    return { ok: false, detail: `${path} ${errorText(err)}` };
  }
}
