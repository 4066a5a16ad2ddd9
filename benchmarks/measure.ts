import { setTimeout as sleep } from 'node:timers/promises';
import type { Route } from './contenders.js';
import type { ServerStats } from './servers/harness.js';
import type { LoadResult } from './load.js';
import { runLoad } from './load.js';
import { readStats, resetStats } from './client.js';

/** One measured cell: a contender on a route in one repetition. */
export interface Cell {
  readonly contender: string;
  readonly route: Route;
  readonly rep: number;
  readonly load: LoadResult;
  /** Counted by the server over the measured window only (warm-up excluded). */
  readonly stats: ServerStats;
  /** req/s of bare Express measured just before, in the same repetition. */
  readonly bareRps: number | undefined;
}

export interface CellSettings {
  readonly connections: number;
  readonly durationSec: number;
  readonly warmupSec: number;
}

/** Warms up, zeroes the server's counters, loads the route, then reads what the server counted. */
export async function measureCell(
  port: number,
  route: Route,
  cookies: readonly string[],
  settings: CellSettings,
): Promise<{ load: LoadResult; stats: ServerStats }> {
  const url = `http://127.0.0.1:${port}/${route}`;
  const spec = { url, connections: settings.connections, cookies };
  await runLoad({ ...spec, durationSec: settings.warmupSec });
  await resetStats(port);
  const load = await runLoad({ ...spec, durationSec: settings.durationSec });
  // Let requests still in flight when the load stopped finish, so their store calls are counted with them.
  await sleep(100);
  return { load, stats: await readStats(port) };
}
