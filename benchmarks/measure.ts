import { setTimeout as sleep } from 'node:timers/promises';
import type { Route } from './contenders.js';
import type { ServerStats } from './servers/harness.js';
import type { LoadResult } from './load.js';
import { runLoad } from './load.js';
import { readStats, resetStats, waitIdle } from './client.js';

/** One measured cell: a contender on a route in one repetition. */
export interface Cell {
  readonly contender: string;
  readonly route: Route;
  readonly rep: number;
  /** Index of the store group whose bare-Express cell this one is compared with (same route and rep). */
  readonly group: number;
  readonly load: LoadResult;
  /** Counted by the server over the measured window only (warm-up excluded). */
  readonly stats: ServerStats;
}

export interface CellSettings {
  readonly connections: number;
  readonly durationSec: number;
  readonly settleSec: number;
}

/** Warms up for `warmupSec`, zeroes the server's counters, loads the route, then reads what the server counted. */
export async function measureCell(
  port: number,
  route: Route,
  cookies: readonly string[],
  settings: CellSettings,
  warmupSec: number,
): Promise<{ load: LoadResult; stats: ServerStats }> {
  const url = `http://127.0.0.1:${port}/${route}`;
  const spec = { url, connections: settings.connections, cookies };
  if (warmupSec > 0) await runLoad({ ...spec, durationSec: warmupSec });
  await waitIdle(port);
  await sleep(settings.settleSec * 1000);
  await resetStats(port);
  const load = await runLoad({ ...spec, durationSec: settings.durationSec });
  // Requests cut off when the load stopped still finish on the server: count their store calls with them.
  await waitIdle(port);
  return { load, stats: await readStats(port) };
}
