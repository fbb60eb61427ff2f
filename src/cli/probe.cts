import { ask } from '../control/client.cjs';
import { maxLine, type Verdict } from '../control/protocol.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { importAgentModule, locateRunDir } from './locate.cjs';

const agentTimeoutMs = 800;

/** `nile probe [--json]`: exit 0 ready, 1 not ready, with one line that says why. */
export async function probe(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('probe', argv);
  if (typeof parsed === 'number') return parsed;
  const configFile = configFlag(parsed);
  let verdict: Verdict;
  try {
    verdict = (await ask(await locateRunDir(configFile), 'probe', agentTimeoutMs)) as Verdict;
    if (typeof verdict?.ready !== 'boolean' || typeof verdict.reason !== 'string') verdict = { ready: false, reason: 'not ready: the agent gave no verdict' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    verdict =
      code === 'ENOENT' || code === 'ECONNREFUSED'
        ? await (await importAgentModule('probe/direct.js')).probeWithoutAgent(configFile)
        : { ready: false, reason: `not ready: the agent did not answer (${(err as Error).message})` };
  }
  const line = parsed.flags.json ? JSON.stringify({ ready: verdict.ready, reason: verdict.reason.slice(0, maxLine) }) : verdict.reason.slice(0, maxLine);
  process.stdout.write(line + '\n');
  return verdict.ready ? 0 : 1;
}
