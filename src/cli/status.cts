import { ask } from '../control/client.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { locateRunDir } from './locate.cjs';

/** `nile status [--json]`. */
export async function status(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('status', argv);
  if (typeof parsed === 'number') return parsed;
  const json = Boolean(parsed.flags.json);
  let answer: unknown;
  try {
    // The agent renders the text itself: native/nile.c prints the same answer without rendering it again.
    answer = await ask(await locateRunDir(configFlag(parsed)), json ? 'status' : 'status text', 5000);
  } catch (err) {
    process.stderr.write(`nile status: no agent answers (${(err as Error).message})\n`);
    return 1;
  }
  if (json) {
    process.stdout.write(JSON.stringify(answer, null, 2) + '\n');
    return 0;
  }
  const text = (answer as { text?: unknown } | null)?.text;
  if (typeof text !== 'string') {
    process.stderr.write('nile status: the agent gave no status\n');
    return 1;
  }
  process.stdout.write(text);
  return 0;
}
