import { errorText } from '../errors.js';
import { request } from '../http/client.js';
import type { ProbeResult } from './result.js';

/** GET the health path on a fresh connection: 2xx and 3xx are ready; redirects are not followed. */
export async function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const { status } = await request({ url: `http://${host}:${port}${path}`, headers: { 'user-agent': 'nile-probe' }, timeoutMs });
    const ms = Math.round(performance.now() - started);
    return { ok: status >= 200 && status < 400, detail: `${status} ${path} in ${ms}ms` };
  } catch (err) {
    return { ok: false, detail: `${path} ${errorText(err)}` };
  }
}
