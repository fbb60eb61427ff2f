// The Consul HTTP API as nile uses it: the `consul` client with the base URL, the ACL token header and a timeout,
// and errors that say what failed and never carry the token.

import Consul from 'consul';
import { readSecretFile } from '../fd.js';
import { boundedAgent } from '../http/bounded-agent.js';

/** A failed Consul call: `consul: 403 ACL not found on PUT /v1/session/create`. */
export class ConsulError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly detail = '',
  ) {
    super(message);
    this.name = 'ConsulError';
  }
}

/** The ACL token from its file, trimmed; undefined without a file. Errors name the file, never its content. */
export function readToken(tokenFile: string | undefined): string | undefined {
  if (!tokenFile) return undefined;
  let token: string;
  try {
    token = readSecretFile(tokenFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConsulError(`consul: cannot read the ACL token file ${tokenFile} (${code})`);
  }
  // An empty file would silently make every call anonymous.
  if (!token) throw new ConsulError(`consul: the ACL token file ${tokenFile} is empty`);
  return token;
}

/** The `consul` client with nile's token and timeout, and calls whose failures read as ConsulError. */
export class ConsulApi {
  readonly client: Consul;

  constructor(
    url: string,
    private readonly token: string | undefined,
    timeoutMs: number,
  ) {
    // The typings omit baseUrl, which the client accepts: it keeps the scheme, host, port and any path prefix of the
    // configured URL. The token travels as the X-Consul-Token header the client sets from `defaults.token`.
    // The agent bounds each answer in bytes and time: the client's own timeout does not stop an endless body filling memory.
    try {
      const agent = boundedAgent(new URL(url).protocol, timeoutMs);
      const options = { baseUrl: `${url.replace(/\/+$/, '')}/v1`, agent, defaults: { token, timeout: timeoutMs } };
      this.client = new Consul(options as ConstructorParameters<typeof Consul>[0]);
    } catch {
      throw new ConsulError('consul: registry.consul.url is not a valid URL');
    }
  }

  /** Runs one request; `what` ("PUT /v1/session/create") names it in the error. */
  async call<T>(what: string, request: (client: Consul) => Promise<T>): Promise<T> {
    try {
      return await request(this.client);
    } catch (err) {
      throw this.describe(err, what);
    }
  }

  close(): void {
    this.client.destroy();
  }

  private describe(err: unknown, what: string): ConsulError {
    const failure = err as { statusCode?: number; response?: { statusCode?: number; statusMessage?: string; body?: unknown }; message?: string };
    const status = failure.response?.statusCode ?? failure.statusCode;
    const body = bodyText(failure.response?.body);
    const reason = status ? `${status} ${body || failure.response?.statusMessage || ''}`.trim() : (failure.message ?? String(err));
    return new ConsulError(this.scrub(`consul: ${reason} on ${what}`), status, this.scrub(body));
  }

  // Consul does not echo tokens, but an error text must not be the one place a secret leaks through.
  private scrub(text: string): string {
    return this.token ? text.split(this.token).join('[redacted]') : text;
  }
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body);
  return text.trim().slice(0, 300);
}

// A request that outlives a third of the TTL is no use to a heartbeat; between 1s and 10s.
export function requestTimeoutMs(ttlMs: number): number {
  return Math.min(10_000, Math.max(1000, Math.round(ttlMs / 3)));
}
