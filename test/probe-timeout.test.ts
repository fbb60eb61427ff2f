import t from 'tap';
import { probeHttp } from '../src/probe/http.js';
import { serveHttp } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

// The probe's timeout covers the whole exchange: a health answer whose body trickles in and never
// ends is a timeout, not `ready`.

t.test('a body trickling in without end fails the probe at the timeout', async (t) => {
  const body = { sent: 0, closed: false };
  const url = await serveHttp(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const send = () => void res.write('.', () => body.sent++);
    send();
    const timer = setInterval(send, 100);
    res.on('close', () => {
      clearInterval(timer);
      body.closed = true;
    });
  });
  const port = Number(new URL(url).port);
  const result = await probeHttp('127.0.0.1', port, '/healthcheck', 500);
  // The body has no end: only the timeout can have ended the probe, while the body was still coming.
  t.equal(result.ok, false, `not ready: ${result.detail}`);
  t.match(result.detail, /timed out after 500ms/, 'the probe says it timed out');
  await waitFor('the probe to hang up', () => body.closed, 5000);
  t.pass(`the probe hung up on the endless body (${body.sent} chunks sent)`);
});
