/** One probe's verdict and a short reason that fits on the kubelet's event line. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}


/** All of them must pass; the detail names each. */
export function combine(results: Array<{ name: string; result: ProbeResult }>): ProbeResult {
  if (results.length === 0) return { ok: true, detail: 'running' };
  return {
    ok: results.every((r) => r.result.ok),
    detail: results.map((r) => `${r.name} ${r.result.detail}`).join(', '),
  };
}
