import t from 'tap';
import { probeHttp } from '../src/probe/http.js';
import { serveHttp } from './helpers/ports.js';

// The probe's timeout covers the whole exchange: a health answer whose body trickles in past the
// timeout is a timeout, not `ready`.

t.test('a body trickling in past the timeout fails the probe at the timeout', async (t) => {
  const url = await serveHttp(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || ++sent > 15) {
        clearInterval(timer);
        return void res.end();
      }
      res.write('.');
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
  const port = Number(new URL(url).port);
  const started = performance.now();
  const result = await probeHttp('127.0.0.1', port, '/healthcheck', 500);
  const ms = performance.now() - started;
  t.equal(result.ok, false, `not ready: ${result.detail}`);
  t.match(result.detail, /timed out after 500ms/);
  t.ok(ms < 1000, `answered at the timeout, not at the end of the body (${Math.round(ms)}ms)`);
});
