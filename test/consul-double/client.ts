// A bare HTTP call to the double, for tests that look at Consul the way nginx upsync or curl would.

export interface Answer {
  status: number;
  index?: number;
  text: string;
  json: any; // Consul answers free-form JSON; tests read the fields they assert on
}

export interface CallOptions {
  body?: string | object;
  token?: string;
  bearer?: string;
}

export async function consulCall(url: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers['X-Consul-Token'] = options.token;
  if (options.bearer) headers.Authorization = `Bearer ${options.bearer}`;
  const body = typeof options.body === 'object' ? JSON.stringify(options.body) : options.body;
  const res = await fetch(`${url}/v1${path}`, { method, headers, body });
  const text = await res.text();
  const index = res.headers.get('x-consul-index');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, index: index === null ? undefined : Number(index), text, json };
}
