import http from 'node:http';

export interface RequestOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number; // the whole exchange: connect, send, and the answer's body
  signal?: AbortSignal;
}

/** One HTTP exchange with node:http(s); rejects on a network error, the timeout or the signal. */
export async function request(opts: RequestOptions): Promise<{ status: number; body: string }> {
  const url = new URL(opts.url);
  // node:https brings TLS with it (megabytes of RSS): loaded only for an https url.
  const client = url.protocol === 'https:' ? await import('node:https') : http;
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body) headers['content-length'] ??= String(Buffer.byteLength(opts.body));
    const req = client.request(url, { method: opts.method ?? 'GET', headers, agent: false });
    let res: http.IncomingMessage | undefined;
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
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('error', fail);
      answer.on('end', () => {
        finish();
        resolve({ status: answer.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(opts.body || undefined);
  });
}
