/** Redis' own count of the commands it has executed, for the benchmarks' cost figures. */
import type { Redis } from 'ioredis';

/** Calls per command name since Redis started (`INFO commandstats`); INFO itself is left out. */
export async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const calls = new Map<string, number>();
  for (const [, command, count] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (command !== 'info') calls.set(command!, Number(count));
  }
  return calls;
}
