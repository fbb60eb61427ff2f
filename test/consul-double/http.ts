// The request as the double's handlers see it, and Consul's way of answering errors (plain text with a status).

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Call {
  method: string;
  path: string; // after /v1, still URL-encoded
  query: URLSearchParams;
  body: Buffer;
  token: string;
}

/** What a handler answers: JSON (or Consul's plain-text error), and the X-Consul-Index of blocking endpoints. */
export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  index?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readCall(req: IncomingMessage): Promise<Call> {
  const url = new URL(req.url ?? '/', 'http://double');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return {
    method: req.method ?? 'GET',
    path: url.pathname.replace(/^\/v1/, ''),
    query: url.searchParams,
    body: Buffer.concat(chunks),
    token: tokenOf(req, url.searchParams),
  };
}

// Consul takes the token from X-Consul-Token, an Authorization bearer, or the older ?token= parameter.
function tokenOf(req: IncomingMessage, query: URLSearchParams): string {
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header) return header;
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1].trim();
  return query.get('token') ?? '';
}

export function jsonBody<T>(call: Call): T {
  if (call.body.length === 0) return {} as T;
  try {
    return JSON.parse(call.body.toString('utf8')) as T;
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
}

export function sendReply(res: ServerResponse, reply: Reply): void {
  const type = reply.text === undefined ? 'application/json' : 'text/plain; charset=utf-8';
  const headers: Record<string, string> = { 'Content-Type': type, 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' };
  if (reply.index !== undefined) headers['X-Consul-Index'] = String(reply.index);
  res.writeHead(reply.status ?? 200, headers);
  res.end(reply.text ?? (reply.json === undefined ? '' : JSON.stringify(reply.json)));
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(message);
}
