import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { openControlSocket, type Handlers } from '../src/control/server.js';
import { createLog } from '../src/log.js';

const log = createLog('silent');
// Never asked: these tests only open the socket.
const handlers = { ping: () => ({ ok: true }), probe: () => ({}), status: () => ({}), prestop: () => ({}), doctor: () => ({}) } as unknown as Handlers;
const currentUmask = () => {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
};

t.test('the socket is made 0600 and the process umask is as it was', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-control-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = currentUmask();
  const server = await openControlSocket(dir, handlers, log);
  t.teardown(() => server.close());
  t.equal(statSync(path.join(dir, 'control.sock')).mode & 0o777, 0o600);
  t.equal(currentUmask(), before);
});

t.test('when listen fails, the process umask is as it was', async (t) => {
  const before = currentUmask();
  await t.rejects(openControlSocket(path.join(os.tmpdir(), 'nile-no-such-dir', 'deeper'), handlers, log), 'there is no directory to listen in');
  t.equal(currentUmask(), before, 'the umask set for the socket is restored');
});
