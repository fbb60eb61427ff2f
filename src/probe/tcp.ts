import net from 'node:net';
import { errorText } from '../errors.js';
import type { ProbeResult } from './result.js';

/** Ready when a TCP connection to the port opens within the timeout. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `:${port} timed out after ${timeoutMs}ms` }), timeoutMs);
    socket.once('connect', () => done({ ok: true, detail: `:${port} open in ${Math.round(performance.now() - started)}ms` }));
    socket.once('error', (err) => done({ ok: false, detail: `:${port} ${errorText(err)}` }));
  });
}
