import t from 'tap';
import { goingOnlineReason, type Pending } from '../src/calls/online.js';
import { request } from '../src/http/client.js';
import { heapSettings } from '../src/memory/heap-settings.js';
import { desiredFor, initialTraffic, type TrafficState } from '../src/traffic/machine.js';
import { serveHttp } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

// The pieces of the calls and the memory watch that need no process: the probe's reason while going online,
// the registration's gate, the JVM options a memory warning quotes, and the HTTP client's timeout.

t.test('the reason names the first call not done, its last answer and when it is tried again', async (t) => {
  const result = (detail: string) => ({ kind: 'online' as const, name: 'x', ok: false, detail, at: 0, ms: 1 });
  const pending: Pending[] = [
    { name: 'rpc', done: true, last: null, retryAt: null },
    { name: 'gateway', done: false, last: result('503'), retryAt: 10_400 },
    { name: 'other', done: false, last: null, retryAt: null },
  ];
  t.equal(goingOnlineReason(pending, 8_500), 'gateway: 503, retrying in 2s');
  t.equal(goingOnlineReason([{ name: 'gateway', done: false, last: null, retryAt: null }], 0), 'gateway: calling');
  t.equal(goingOnlineReason(pending, 10_400), 'gateway: 503, calling again', 'its retry time come: no "retrying in 0s"');
  t.equal(goingOnlineReason(pending, 12_000), 'gateway: 503, calling again', 'nor a time in the past');
  t.equal(goingOnlineReason(pending, 10_300), 'gateway: 503, retrying in 1s', 'a retry still ahead, however close, is at least 1s away');
  t.equal(goingOnlineReason([{ name: 'gateway', done: true, last: null, retryAt: null }], 0), null, 'all done: online');
});

t.test('registered only once online; down while not ready; out while draining', async (t) => {
  const serving = (app: TrafficState['app'], online: TrafficState['online'], draining = false): TrafficState => ({ ...initialTraffic('ready', app), round: 1, online, draining: draining ? { since: 0, by: 'prestop' } : null });
  t.same(desiredFor(serving('ready', 'going')), { present: false }, 'ready but not online yet: not registered');
  t.same(desiredFor(serving('ready', 'yes')), { present: true, down: false });
  t.same(desiredFor(serving('notReady', 'yes')), { present: true, down: true });
  t.same(desiredFor(serving('ready', 'yes', true)), { present: false });
});

t.test('the JVM memory options, from the command and the variables the JVM reads', async (t) => {
  t.equal(heapSettings(['java', '-Xms256m', '-Xmx512m', '-Dx=1', '-jar', 'a.jar'], { JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=75 -Dy=2' }), '-Xms256m -Xmx512m -XX:MaxRAMPercentage=75');
  t.match(heapSettings(['java', '-jar', 'a.jar'], {}), /^no heap options/);
});

t.test('the timeout covers the whole exchange: an answer whose body never ends fails at the timeout', async (t) => {
  let slowBodyClosed = false;
  const url = await serveHttp(t, (req, res) => {
    if (req.url === '/slow-body') {
      res.on('close', () => (slowBodyClosed = true));
      return void res.writeHead(200, { 'content-length': '10' }).write('12345');
    }
    req.on('data', () => {});
    req.on('end', () => res.end(`${req.method} ${req.headers['x-a']} ${req.headers['content-length']}`));
  });
  t.same(await request({ url: `${url}/echo`, method: 'PUT', headers: { 'X-A': 'b' }, body: 'héllo', timeoutMs: 2000 }), { status: 200, body: 'PUT b 6' });
  // The body's other half never comes: only the timeout can end this request.
  await t.rejects(request({ url: `${url}/slow-body`, timeoutMs: 300 }), /timed out after 300ms/);
  await waitFor('the client to hang up', () => slowBodyClosed, 5000);
  t.pass('and the client hung up on the unfinished body');
  const abort = new AbortController();
  const pending = request({ url: `${url}/slow-body`, timeoutMs: 5000, signal: abort.signal });
  abort.abort();
  await t.rejects(pending, /aborted/, 'the signal ends it too');
});
