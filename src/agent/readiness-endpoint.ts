import type { Config } from '../config/schema.js';
import { maxLine, type Verdict } from '../control/protocol.cjs';
import { errorText } from '../errors.js';
import type { BoundedServer } from '../http/bounded-server.js';
import type { Log } from '../log.js';

/**
 * GET /ready on probe.serve, for the kubelet's httpGet readiness probe: 200 or 503 with the line `nile probe`
 * prints, from the same verdict, with no process started in the pod. Off while probe.serve.port is 0; a port
 * in use costs the endpoint, not the agent.
 */
export async function readinessIfEnabled(config: Config['probe']['serve'], verdict: () => Verdict | Promise<Verdict>, log: Log): Promise<BoundedServer | null> {
  if (!config.port) return null;
  try {
    const { serveBounded } = await import('../http/bounded-server.js');
    const server = await serveBounded('readiness', config.listen, config.port, {
      '/ready': async (_req, res) => {
        const { ready, reason } = await verdict();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(`${reason.slice(0, maxLine)}\n`);
      },
    }, log);
    log.info({ listen: config.listen, port: config.port }, 'readiness served at /ready');
    return server;
  } catch (err) {
    log.error({ err: errorText(err), listen: config.listen, port: config.port }, 'readiness cannot be served at /ready; going on without it');
    return null;
  }
}
