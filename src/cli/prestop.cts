import { ask } from '../control/client.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { loadConfigModule, locateRunDir } from './locate.cjs';

// The kubelet kills the hook at the end of the grace period; the agent bounds its own budget.
const hookTimeoutMs = 30 * 60_000;

/** `nile prestop`: take the instance out of traffic, then return. */
export async function prestop(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('prestop', argv);
  if (typeof parsed === 'number') return parsed;
  const configFile = configFlag(parsed);
  try {
    await ask(await locateRunDir(configFile), 'prestop', hookTimeoutMs);
    process.stdout.write('prestop: out of traffic\n');
  } catch (err) {
    const wait = await waitWithoutAgent(configFile);
    process.stdout.write(`prestop: no agent answering (${(err as Error).message}); waited ${wait}ms\n`);
  }
  return 0;
}

async function waitWithoutAgent(configFile?: string): Promise<number> {
  const { loadConfig } = await loadConfigModule();
  const loaded = loadConfig({ file: configFile });
  const wait = loaded.ok ? loaded.config.prestop.wait : 10_000;
  await new Promise((resolve) => setTimeout(resolve, wait));
  return wait;
}
