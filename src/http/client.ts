import http from 'node:http';

export interface RequestOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number; // the whole exchange, the body included
  signal?: AbortSignal;
}

// A health or drain answer is short; more than this is read and dropped.
const maxBodyBytes = 1 << 20;

/**
 * One HTTP/1.1 exchange on node:http, no keep-alive (each call sees a fresh connection, as the
 * kubelet's probes do). Rejects on a network error, the timeout or the signal; any status resolves.
 */
export function request(opts: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    const fail = (err: Error) => reject(timeout.aborted ? Object.assign(new Error(`timed out after ${opts.timeoutMs}ms`), { code: 'ETIMEDOUT' }) : err);
    const headers = { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) };
    const req = http.request(opts.url, { method: opts.method ?? 'GET', headers, agent: false, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < maxBodyBytes) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8') }));
      res.on('error', fail);
      res.on('close', () => (res.complete ? undefined : fail(new Error('the connection closed before the answer ended'))));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}
