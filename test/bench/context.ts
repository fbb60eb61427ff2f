// What every row of the bench is handed: the compiled helpers, a scratch folder, how many runs to do,
// and the one ZooKeeper server the registry rows share.

import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { ZooKeeperServers } from '../helpers/zookeeper.js';
import type { Natives } from './natives.js';

export interface Context {
  natives: Natives;
  dir: string; // removed when the bench ends
  quick: boolean; // a few runs of each, for the smoke test
  zookeeper(): Promise<ZooKeeperServers>;
}

/** `full` runs normally, 2 in a quick run. */
export const runsOf = (ctx: Context, full: number): number => (ctx.quick ? 2 : full);

/** A fresh folder under the bench's scratch folder. */
export const scratch = (ctx: Context, name: string): string => mkdtempSync(path.join(ctx.dir, `${name}-`));

/**
 * Measures every subject once a round, in turns, for runsOf(ctx, full) rounds, so the machine's
 * drift falls on all of them alike; returns each subject's values.
 */
export async function inTurns<S extends string>(ctx: Context, full: number, subjects: readonly S[], measure: (subject: S, round: number) => Promise<number>): Promise<Map<S, number[]>> {
  const values = new Map<S, number[]>(subjects.map((s) => [s, []]));
  for (let round = 0; round < runsOf(ctx, full); round++) {
    for (const subject of subjects) values.get(subject)!.push(await measure(subject, round));
  }
  return values;
}
