import type { IncomingMessage } from 'node:http';
import { http, loadHttps } from './node-http.js';

export interface RequestOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number; // the whole exchange: connect, send, and the answer's body
  signal?: AbortSignal;
}

// A health, drain or call answer is short: past this the rest is not read, as the kubelet's probe keeps only the head.
export const maxBodyBytes = 1 << 20;

/**
 * One HTTP exchange with node:http(s), no keep-alive (each call sees a fresh connection, as the
 * kubelet's probes do), whose answer is read up to maxBodyBytes. Rejects on a network error, the timeout (`timed out after N ms`, no code: that is the shortest telling form) or the signal; any status resolves.
 */
export async function request(opts: RequestOptions): Promise<{ status: number; body: string }> {
  const url = new URL(opts.url);
  const client = url.protocol === 'https:' ? loadHttps() : http;
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body) headers['content-length'] ??= String(Buffer.byteLength(opts.body));
    const req = client.request(url, { method: opts.method ?? 'GET', headers, agent: false });
    let res: IncomingMessage | undefined;
    const finish = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abort);
    };
    const fail = (err: Error) => {
      finish();
      reject(err);
      req.destroy();
      res?.destroy();
    };
    const timer = setTimeout(() => fail(new Error(`timed out after ${opts.timeoutMs}ms`)), opts.timeoutMs);
    const abort = () => fail(new Error('aborted'));
    if (opts.signal?.aborted) return abort();
    opts.signal?.addEventListener('abort', abort, { once: true });
    req.on('error', fail);
    req.on('response', (answer) => {
      res = answer;
      const chunks: Buffer[] = [];
      let size = 0;
      const answered = () => {
        finish();
        resolve({ status: answer.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8') });
      };
      answer.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size < maxBodyBytes) return;
        // The status is in; an answer past the bound is cut there and its connection closed.
        answered();
        req.destroy();
      });
      answer.on('error', fail);
      answer.on('close', () => (answer.complete || size >= maxBodyBytes ? undefined : fail(new Error('the connection closed before the answer ended'))));
      answer.on('end', answered);
    });
    req.end(opts.body || undefined);
  });
}
