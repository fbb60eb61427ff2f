// Asks ZooKeeper servers directly, beside any session, whether one serves clients.

import net from 'node:net';

// A srvr answer is a dozen short lines; a server that sends more is not one to trust.
const maxAnswerBytes = 16 * 1024;

/**
 * True when one of `host:port,…` says it serves clients (the `srvr` four-letter word, allowed by
 * default, answers with its Mode). A member in a leader election says it is not serving yet.
 */
export function anyServerServing(hosts: string, timeoutMs: number): Promise<boolean> {
  const targets = hosts.split(',').map((h) => h.trim()).filter(Boolean);
  return new Promise((resolve) => {
    let pending = targets.length;
    if (pending === 0) return resolve(false);
    for (const target of targets) {
      const colon = target.lastIndexOf(':');
      const socket = net.connect({ host: colon > 0 ? target.slice(0, colon) : target, port: colon > 0 ? Number(target.slice(colon + 1)) : 2181 });
      let answer = '';
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (/^Mode: /m.test(answer)) resolve(true);
        else if (--pending === 0) resolve(false);
      };
      const timer = setTimeout(done, timeoutMs);
      socket.once('connect', () => socket.write('srvr'));
      socket.on('data', (chunk) => {
        answer += chunk.toString('latin1');
        if (answer.length > maxAnswerBytes) done();
      });
      socket.once('close', done);
      socket.once('error', done);
    }
  });
}
