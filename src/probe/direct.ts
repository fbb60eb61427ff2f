import { loadConfig } from '../config/load.js';
import type { Verdict } from '../control/protocol.cjs';
import { probeHttp } from './http.js';
import { registryConfigured } from '../registry/backend.js';
import { combine, type ProbeResult } from './result.js';
import { probeTcp } from './tcp.js';

/** `nile probe` when no agent answers: check the app directly, with node:http and node:net only. */
export async function probeWithoutAgent(configFile?: string): Promise<Verdict> {
  const loaded = loadConfig({ file: configFile });
  if (!loaded.ok) return { ready: false, reason: `not ready: no agent answering, and the config is invalid: ${loaded.errors[0]}` };
  // Ready also needs the online calls and the registration, and only the agent makes them.
  const needsAgent = [registryConfigured(loaded.config) && 'the registration', loaded.config.online.length > 0 && 'the online calls'].filter(Boolean);
  if (needsAgent.length) return { ready: false, reason: `not ready: no agent answering to make ${needsAgent.join(' and ')}` };
  const { http: h, tcp } = loaded.config.probe;
  const checks: Array<Promise<{ name: string; result: ProbeResult }>> = [];
  if (h.enabled) checks.push(probeHttp('127.0.0.1', h.port, h.path, h.timeout).then((result) => ({ name: 'http', result })));
  if (tcp.enabled) checks.push(probeTcp('127.0.0.1', tcp.port, tcp.timeout).then((result) => ({ name: 'tcp', result })));
  if (checks.length === 0) return { ready: false, reason: 'not ready: no agent answering' };
  const result = combine(await Promise.all(checks));
  return { ready: result.ok, reason: `${result.ok ? 'ready' : 'not ready'}: no agent answering; ${result.detail}` };
}
