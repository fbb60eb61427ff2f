import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { Nile } from './helpers/nile.js';
import { AppSupervisor } from '../src/app/supervisor.js';
import { loadConfig } from '../src/config/load.js';
import { createLog } from '../src/log.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { waitFor } from './helpers/wait.js';

/** Sends raw bytes to the control socket and collects whatever comes back before the close, or its one answer line. */
function raw(socketPath: string, send: (s: net.Socket) => void, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const got: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('connect', () => send(socket));
    socket.on('data', (d) => {
      got.push(d);
      // The answer is one line: a client still writing a refused request would wait for the agent's idle timeout.
      if (d.includes('\n')) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString());
    });
  });
}

t.test('the control socket survives garbage, half lines, a 1 MB line and hang-ups', async (t) => {
  const nile = new Nile({ door: 'node', config: { project: 'faults', type: 'worker', app: { command: ['sleep', '600'] }, probe: { interval: '100ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 10_000);
  await nile.waitAnswering(); // a worker probed every 100 ms can be ready before the socket listens
  // The socket lives in the namespace's runDir, which is the same directory on the host.
  const sock = path.join(nile.runDir, 'control.sock');
  // An answer ends the wait: the long bound costs nothing unless the machine is slow.
  t.match(await raw(sock, (s) => s.write('\x00\xff garbage \x01\n'), 20_000), /"ok":false.*unknown request/, 'garbage gets an error');
  t.equal(await raw(sock, (s) => s.write('status')), '', 'a half line with no end gets nothing');
  t.equal(await raw(sock, (s) => s.end('prob')), '', 'a half line then a hang-up gets nothing');
  t.match(await raw(sock, (s) => s.write(Buffer.alloc(1024 * 1024, 'a')), 20_000), /request longer than/, 'a 1 MB line is refused');
  await raw(sock, (s) => s.destroy(), 200);
  await raw(sock, (s) => (s.write('status\n'), s.destroy()), 200);
  await Promise.all(Array.from({ length: 20 }, () => raw(sock, (s) => s.write('probe\n'), 50)));
  t.equal(nile.proc.exitCode, null, 'nile is still running');
  const probe = await nile.exec(['probe']);
  t.equal(probe.code, 0, 'and answers the next request');
  t.match(probe.stdout, /^ready/);
  t.equal(nile.logs.filter((l) => l.msg === 'app started').length, 1, 'the app was not disturbed');
  t.notOk(nile.logs.some((l) => l.msg.includes('internal fault')), 'no fault escaped to the process handlers');
});

t.test('a probe that throws is a failed probe, and supervision goes on', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-fault-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const loaded = loadConfig({ env: {}, file: undefined, command: ['sleep', '30'] });
  t.ok(loaded.ok === false, 'no project: the loader refuses');
  const ok = loadConfig({ env: { NILE_PROJECT: 'p', NILE_TYPE: 'worker', NILE_RUNDIR: dir, NILE_APP_WORKDIR: dir, NILE_PROBE_INTERVAL: '50ms' }, command: ['sleep', '30'] });
  if (!ok.ok) throw new Error(ok.errors.join('; '));
  let calls = 0;
  const prober = async () => {
    calls++;
    if (calls === 1) throw new Error('boom from the prober');
    if (calls === 2) throw 'a thrown string';
    return { ok: true, detail: 'fine' };
  };
  const app = new AppSupervisor(ok.config, createLog('silent'), prober);
  app.boot();
  const seen: string[] = [];
  app.onChange((s) => s.probe && seen.push(s.probe.detail));
  await waitFor('the app ready', () => app.state.phase === 'ready', 5000, { everyMs: 20 }).catch(() => undefined);
  t.equal(app.state.phase, 'ready', 'ready once the prober recovers');
  t.match(seen, ['probe error: boom from the prober', 'probe error: a thrown string'], 'each throw counted as a failed probe');
  app.shutdown();
  t.equal(await app.exited, 143, 'the app was stopped with TERM');
});
