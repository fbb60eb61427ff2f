import type { Call, Config } from '../config/schema.js';
import { makeCall, type CallResult } from './call.js';

/** The offline calls: the `offline:` list, and `prestop.offline` as one more (named "prestop"). */
export function offlineCalls(config: Pick<Config, 'offline' | 'prestop'>): Call[] {
  const { url, method, timeout } = config.prestop.offline;
  const prestop: Call[] = url ? [{ name: 'prestop', url, method, headers: {}, headerFiles: {}, body: '', timeout }] : [];
  return [...config.offline, ...prestop];
}

/** Each offline call once, side by side, each within its own timeout. */
export function callOffline(calls: Call[]): Promise<CallResult[]> {
  return Promise.all(calls.map((call) => makeCall('offline', call)));
}

/** One line for the log: "gateway 200, rpc ECONNREFUSED". */
export function describeResults(results: CallResult[]): string {
  return results.map((r) => `${r.name} ${r.detail}`).join(', ');
}
