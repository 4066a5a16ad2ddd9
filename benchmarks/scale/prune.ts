import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningServer } from '../spawn.js';
import type { Backend } from './backend.js';
import { DAY_MS } from './population.js';
import type { ScaleArgs } from './args.js';
import type { ScaleContender } from './contenders.js';
import { control } from './control.js';
import { randomLoad, startRandomLoad } from './load.js';
import { median } from './sweep.js';

/** What pruning cost one contender while its live sessions were being read. */
export interface PruneResult {
  readonly contender: string;
  readonly live: number;
  readonly expired: number;
  /** Records the prune removed (counted in the store before and after). */
  readonly removed: number;
  /** Records left that should not be: expired ones the prune missed. */
  readonly missed: number;
  readonly pruneSec: number;
  readonly rowsPerSec: number;
  /** /read p99 and req/s undisturbed (median of `reps` runs) and while the prune ran. */
  readonly p99BeforeMs: number;
  readonly p99DuringMs: number;
  readonly rpsBefore: number;
  readonly rpsDuring: number;
  readonly failuresDuring: number;
}

// The load runs a little before the prune starts, so the prune meets a server already under load.
const LEAD_MS = 500;

/**
 * Fills `live` sessions and `expired` expired ones, measures /read undisturbed, then prunes (the
 * same store.prune() the background pruner runs) under that /read load, which stops when the prune ends.
 */
export async function pruneUnderLoad(
  c: ScaleContender,
  server: RunningServer,
  backend: Backend,
  args: ScaleArgs,
  log: (line: string) => void,
): Promise<PruneResult> {
  const { pruneLive: live, pruneExpired: expired } = args;
  await backend.fill(0, live, Date.now() + DAY_MS);
  // Expired an hour ago: every one of them is due, whatever the clock does during the run.
  await backend.fill(live, live + expired, Date.now() - 60 * 60 * 1000);
  const before = await backend.count();
  log(`${c.id}: ${live} live + ${expired} expired (${before} records)`);
  const spec = (durationSec: number) => ({
    url: `http://127.0.0.1:${server.port}/read`,
    connections: args.connections,
    durationSec,
    population: live,
    cookie: c.cookie,
  });
  await randomLoad(spec(args.warmupSec));
  const undisturbed = [];
  for (let rep = 0; rep < args.reps; rep++) {
    await sleep(300);
    undisturbed.push(await randomLoad(spec(args.durationSec)));
  }
  await sleep(300);
  const load = startRandomLoad(spec(600));
  await sleep(LEAD_MS);
  const started = performance.now();
  await control(server.port, 'prune');
  const pruneSec = (performance.now() - started) / 1000;
  load.stop();
  const during = await load.result;
  const after = await backend.count();
  const result: PruneResult = {
    contender: c.id,
    live,
    expired,
    removed: before - after,
    missed: Math.max(0, after - live),
    pruneSec,
    rowsPerSec: (before - after) / pruneSec,
    p99BeforeMs: median(undisturbed.map((r) => r.p99Ms)),
    p99DuringMs: during.p99Ms,
    rpsBefore: median(undisturbed.map((r) => r.rps)),
    rpsDuring: during.rps,
    failuresDuring: during.failures,
  };
  log(
    `${c.id}: pruned ${result.removed} in ${pruneSec.toFixed(2)} s; /read p99 ${result.p99BeforeMs} → ${result.p99DuringMs} ms, ${Math.round(result.rpsBefore)} → ${Math.round(result.rpsDuring)} req/s`,
  );
  return result;
}
