import http from 'node:http';
import { loadConfig } from '../config/load.js';
import { errorText } from '../errors.js';
import { combine, type ProbeResult } from './result.js';
import { probeTcp } from './tcp.js';

/** `nile probe` when no agent answers: check the app directly, with node:http and node:net only. */
export async function probeWithoutAgent(configFile?: string): Promise<{ ready: boolean; reason: string }> {
  const loaded = loadConfig({ file: configFile });
  if (!loaded.ok) return { ready: false, reason: `not ready: no agent answering, and the config is invalid: ${loaded.errors[0]}` };
  const { http: h, tcp } = loaded.config.probe;
  const checks: Array<Promise<{ name: string; result: ProbeResult }>> = [];
  if (h.enabled) checks.push(get(h.port, h.path, h.timeout).then((result) => ({ name: 'http', result })));
  if (tcp.enabled) checks.push(probeTcp('127.0.0.1', tcp.port, tcp.timeout).then((result) => ({ name: 'tcp', result })));
  if (checks.length === 0) return { ready: false, reason: 'not ready: no agent answering' };
  const result = combine(await Promise.all(checks));
  return { ready: result.ok, reason: `${result.ok ? 'ready' : 'not ready'}: no agent answering; ${result.detail}` };
}

function get(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 400, detail: `${status} ${path}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs}ms`)));
    req.on('error', (err) => resolve({ ok: false, detail: `${path} ${errorText(err)}` }));
  });
}
