import net from 'node:net';
import path from 'node:path';
import { socketName } from './protocol.cjs';

/** Sends one request line to the agent and resolves with its JSON answer; rejects when no agent answers. */
export function ask(runDir: string, line: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(runDir, socketName));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
    socket.on('connect', () => socket.write(line + '\n'));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new Error(text ? `bad answer from the agent: ${text.slice(0, 200)}` : 'the agent closed the connection without an answer'));
      }
    });
  });
}
