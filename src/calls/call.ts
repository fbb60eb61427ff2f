import { readFileSync } from 'node:fs';
import type { Call } from '../config/schema.js';
import { errorText } from '../errors.js';

/** The answer of one call, as status and metrics show it; header values never appear in it. */
export interface CallResult {
  kind: 'online' | 'offline';
  name: string;
  ok: boolean; // a 2xx answer
  detail: string; // "200", "503", or the error
  at: number;
  ms: number;
}

/** Makes one call once, within its timeout; never rejects. */
export async function makeCall(kind: CallResult['kind'], call: Call, signal?: AbortSignal): Promise<CallResult> {
  const started = Date.now();
  const result = (ok: boolean, detail: string): CallResult => ({ kind, name: call.name, ok, detail, at: Date.now(), ms: Date.now() - started });
  let headers: Record<string, string>;
  try {
    headers = { ...call.headers, ...readHeaderFiles(call.headerFiles) };
  } catch (err) {
    return result(false, errorText(err));
  }
  try {
    const { request } = await import('../http/client.js'); // not loaded by an agent that makes no calls
    const answer = await request({ url: call.url, method: call.method, headers, body: call.body, timeoutMs: call.timeout, signal });
    return result(answer.status >= 200 && answer.status < 300, String(answer.status));
  } catch (err) {
    return result(false, errorText(err));
  }
}

// Read at each call: a token file mounted from a Secret may be rotated while the pod runs.
function readHeaderFiles(files: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, file] of Object.entries(files)) {
    try {
      headers[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`header ${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return headers;
}
